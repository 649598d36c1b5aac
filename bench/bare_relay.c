/* bare_relay: the floor of the thread-per-connection design, for scripts/bench.sh (not part of
 * the product).
 *   bare_relay LISTEN_PORT TARGET_HOST:PORT [BUFFER=32768] [splice]
 * Listens on 127.0.0.1:LISTEN_PORT. Every thread blocks in accept() on the one listening socket
 * (no hand-off between threads); a thread that accepts while no other thread is left waiting in
 * accept() first starts one more, so there are always enough threads for the clients held. A
 * thread serves one client at a time: a blocking connect() to the target, then one poll() over
 * both sockets and a BUFFER-byte buffer per direction (read, then write it all, blocking); a
 * direction's EOF is passed on with shutdown(SHUT_WR); the session ends on both EOFs or on an
 * error, and the thread goes back to accept(). TCP_NODELAY on both sides, as ForwardOptimal sets
 * it: the client side inherits it from the listening socket. 64 KiB thread stacks.
 * With "splice", a direction moves its bytes with splice(2) through a pipe of the thread's own
 * (two per thread, made once, the kernel's default size) instead of the buffer: socket -> pipe
 * (what is queued, up to a pipe's worth), then pipe -> socket until the pipe is empty (blocking):
 * the floor of zero-copy relaying in this design.
 * Build: cc -O2 -pthread -o bare_relay bare_relay.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { STACK_SIZE = 64 * 1024 };

static int listen_fd = -1;
static struct sockaddr_storage target;
static socklen_t target_len;
static size_t buffer_size = 32768;
static int use_splice;
static atomic_int waiting;        /* threads blocked in accept() right now */
static pthread_attr_t thread_attr;

static void start_thread(void);

/* Writes all of buf to fd (blocking). 0 on success, -1 on error. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Moves what fd `from` has queued (up to a pipe's worth) to `to` through the pipe p; returns what
 * was read (0 at EOF) or -1 on error. Blocks until the pipe is empty again. */
static ssize_t splice_once(int from, int to, const int p[2])
{
	ssize_t got;
	while ((got = splice(from, NULL, p[1], NULL, 1 << 20, SPLICE_F_MOVE | SPLICE_F_NONBLOCK)) < 0 && errno == EINTR)
		;
	if (got < 0)
		return errno == EAGAIN ? -2 : -1;
	for (ssize_t left = got; left > 0;) {
		ssize_t n = splice(p[0], NULL, to, NULL, (size_t)left, SPLICE_F_MOVE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		left -= n;
	}
	return got;
}

/* Moves what direction `from` -> `to` has now, through the pipe p (splice) or buf (copy):
 * what was read (0 at EOF), -2 when nothing was there, -1 on error. */
static ssize_t move_once(int from, int to, char *buf, const int p[2])
{
	if (use_splice)
		return splice_once(from, to, p);
	ssize_t got = recv(from, buf, buffer_size, 0);
	if (got < 0)
		return errno == EINTR || errno == EAGAIN ? -2 : -1;
	if (got > 0 && write_all(to, buf, (size_t)got) < 0)
		return -1;
	return got;
}

/* Relays between client and upstream until both directions ended or one failed. */
static void relay(int client, int upstream, char *buffers, int pipes[2][2])
{
	int fds[2] = { client, upstream };
	int open_dir[2] = { 1, 1 };   /* direction i reads fds[i] and writes fds[1 - i] */
	struct pollfd pfd[2];
	while (open_dir[0] || open_dir[1]) {
		nfds_t n = 0;
		int which[2];
		for (int i = 0; i < 2; ++i)
			if (open_dir[i]) {
				pfd[n].fd = fds[i];
				pfd[n].events = POLLIN;
				pfd[n].revents = 0;
				which[n++] = i;
			}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (nfds_t k = 0; k < n; ++k) {
			if (!pfd[k].revents)
				continue;
			int i = which[k];
			char *buf = buffers ? buffers + (size_t)i * buffer_size : NULL;
			ssize_t got = move_once(fds[i], fds[1 - i], buf, pipes[i]);
			if (got == -2)
				continue;
			if (got < 0)
				return;
			if (got == 0) {
				open_dir[i] = 0;
				if (shutdown(fds[1 - i], SHUT_WR) < 0 && errno != ENOTCONN)
					return;
			}
		}
	}
}

static void *serve(void *unused)
{
	(void)unused;
	/* Both directions' buffers, allocated once per thread; pages are touched only as used. */
	char *buffers = use_splice ? NULL : malloc(2 * buffer_size);
	int pipes[2][2] = { { -1, -1 }, { -1, -1 } };
	if (use_splice ? pipe2(pipes[0], O_CLOEXEC) < 0 || pipe2(pipes[1], O_CLOEXEC) < 0 : !buffers) {
		fprintf(stderr, "bare_relay: no %s for a thread\n", use_splice ? "pipes" : "memory for the buffers");
		return NULL;
	}
	for (;;) {
		atomic_fetch_add(&waiting, 1);
		int client = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (atomic_fetch_sub(&waiting, 1) == 1)
			start_thread();   /* nobody is left in accept(): one more */
		if (client < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				struct timespec pause = { 0, 10 * 1000 * 1000 };
				nanosleep(&pause, NULL);
			}
			continue;
		}
		int upstream = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (upstream >= 0) {
			int one = 1;
			setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			int rc;
			while ((rc = connect(upstream, (struct sockaddr *)&target, target_len)) < 0 && errno == EINTR)
				;
			if (rc == 0)
				relay(client, upstream, buffers, pipes);
			close(upstream);
			for (int i = 0; use_splice && i < 2; ++i) {
				int held = 0;
				if (ioctl(pipes[i][0], FIONREAD, &held) == 0 && held == 0)
					continue;
				/* the session failed with bytes in the pipe: they must not reach the next one */
				close(pipes[i][0]);
				close(pipes[i][1]);
				if (pipe2(pipes[i], O_CLOEXEC) < 0) {
					fprintf(stderr, "bare_relay: cannot make a pipe: %s\n", strerror(errno));
					exit(1);
				}
			}
		}
		close(client);
	}
	return NULL;
}

static void start_thread(void)
{
	pthread_t thread;
	int rc = pthread_create(&thread, &thread_attr, serve, NULL);
	if (rc != 0)
		fprintf(stderr, "bare_relay: cannot start a thread: %s\n", strerror(rc));
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[4], "splice") == 0) {
		use_splice = 1;
		--argc;
	}
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: bare_relay LISTEN_PORT TARGET_HOST:PORT [BUFFER=32768] [splice]\n");
		return 64;
	}
	char *end;
	long port = strtol(argv[1], &end, 10);
	if (*end || port < 1 || port > 65535) {
		fprintf(stderr, "bare_relay: bad listen port '%s'\n", argv[1]);
		return 64;
	}
	if (argc == 4) {
		long size = strtol(argv[3], &end, 10);
		if (*end || size < 1 || size > 16 * 1024 * 1024) {
			fprintf(stderr, "bare_relay: bad buffer size '%s' (1 to 16777216 bytes)\n", argv[3]);
			return 64;
		}
		buffer_size = (size_t)size;
	}
	char host[256];
	const char *colon = strrchr(argv[2], ':');
	if (!colon || colon == argv[2] || (size_t)(colon - argv[2]) >= sizeof host) {
		fprintf(stderr, "bare_relay: bad target '%s' (HOST:PORT)\n", argv[2]);
		return 64;
	}
	memcpy(host, argv[2], (size_t)(colon - argv[2]));
	host[colon - argv[2]] = 0;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {   /* [::1]:80 */
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai;
	int gai = getaddrinfo(host, colon + 1, &hints, &ai);
	if (gai != 0) {
		fprintf(stderr, "bare_relay: cannot resolve target '%s': %s\n", argv[2], gai_strerror(gai));
		return 64;
	}
	memcpy(&target, ai->ai_addr, ai->ai_addrlen);
	target_len = ai->ai_addrlen;
	freeaddrinfo(ai);

	signal(SIGPIPE, SIG_IGN);
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(listen_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);   /* inherited by accept() */
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listen_fd, 4096) < 0) {
		fprintf(stderr, "bare_relay: cannot listen on 127.0.0.1:%ld: %s\n", port, strerror(errno));
		return 1;
	}
	pthread_attr_init(&thread_attr);
	pthread_attr_setstacksize(&thread_attr, STACK_SIZE);
	pthread_attr_setdetachstate(&thread_attr, PTHREAD_CREATE_DETACHED);
	start_thread();
	pause();   /* the threads do the work; SIGTERM ends the process */
	return 0;
}
