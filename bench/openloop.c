/* openloop: an open-loop, fixed-rate HTTP/1.1 keep-alive load generator for scripts/bench.sh (not
 * part of the product; Debian has no wrk2).
 *   openloop HOST:PORT RATE CONNECTIONS SECONDS [PATH=/]
 * Opens CONNECTIONS keep-alive connections and puts requests on a fixed schedule: request i is
 * due at start + i / RATE and goes on connection i % CONNECTIONS, so the rate is spread evenly
 * over connections and time. A connection carries one request at a time (no pipelining): a
 * request whose connection is still waiting for the previous response is sent as soon as that
 * response is complete. Latency is measured from the request's SCHEDULED time to the end of its
 * response, so a stall shows in full in every request it delays (coordinated omission
 * corrected). Responses end by Content-Length. The first 0.5 s are warm-up and not counted.
 * After the schedule, up to 5 s are given to the requests still outstanding; what is left then
 * counts as errors, as do non-2xx responses, closed connections (reopened) and requests that
 * could not be sent.
 * One thread, epoll, and a timerfd for the schedule. Prints one line:
 *   sent=N done=N errors=N p50=MS p90=MS p99=MS p999=MS max=MS total=N
 * (milliseconds, 3 significant digits; sent, done and errors count the measured requests only,
 * total the 2xx responses of the warm-up as well, for CPU per request). Exit status 1 if no
 * request was done.
 * Build: cc -O2 -o openloop openloop.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum { IN_SIZE = 65536 };
static const int64_t WARMUP_NS = 500 * 1000 * 1000LL;
static const int64_t GRACE_NS = 5 * 1000 * 1000 * 1000LL;

struct conn {
	int fd;
	int64_t next_due;      /* scheduled time of this connection's next request */
	int64_t outstanding;   /* scheduled time of the request in flight, or -1 */
	size_t in_len;
	char in[IN_SIZE];
};

static struct sockaddr_storage target;
static socklen_t target_len;
static char request[1024];
static size_t request_len;
static int epfd;
static uint64_t sent, done, errors, total;   /* total: 2xx responses, warm-up included */
static int64_t *lat;   /* measured latencies, ns */
static size_t lat_n, lat_cap;
static int64_t measure_from;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int open_conn(struct conn *c)
{
	c->fd = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (struct sockaddr *)&target, target_len) < 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
	c->in_len = 0;
	return 0;
}

/* The connection failed: its request in flight is an error; it is opened again. */
static void reset_conn(struct conn *c)
{
	if (c->outstanding >= 0 && c->outstanding >= measure_from)
		++errors;
	c->outstanding = -1;
	if (c->fd >= 0)
		close(c->fd);   /* also takes it out of the epoll set */
	c->fd = -1;
	open_conn(c);
}

static void send_request(struct conn *c, int64_t sched)
{
	int counted = sched >= measure_from;
	if (counted)
		++sent;
	if (c->fd < 0 && open_conn(c) < 0) {
		if (counted)
			++errors;
		return;
	}
	/* A request is a few dozen bytes into an idle connection's empty send buffer. */
	ssize_t n = send(c->fd, request, request_len, MSG_NOSIGNAL);
	if (n != (ssize_t)request_len) {
		if (counted)
			++errors;
		c->outstanding = -1;
		reset_conn(c);
		return;
	}
	c->outstanding = sched;
}

/* Length of the complete response at the start of c->in, 0 if not complete yet, -1 if it is
 * not one this tool can frame (no Content-Length). *status gets its status code. */
static ssize_t response_length(struct conn *c, int *status)
{
	char *head_end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
	if (!head_end)
		return c->in_len == IN_SIZE ? -1 : 0;
	size_t head_len = (size_t)(head_end - c->in) + 4;
	*status = 0;
	if (c->in_len >= 12 && memcmp(c->in, "HTTP/1.", 7) == 0)
		*status = atoi(c->in + 9);
	long body = -1;
	for (char *line = memchr(c->in, '\n', head_len); line && line < head_end; line = memchr(line, '\n', (size_t)(head_end - line))) {
		++line;
		if (strncasecmp(line, "Content-Length:", 15) == 0) {
			body = strtol(line + 15, NULL, 10);
			break;
		}
	}
	if (body < 0 || head_len + (size_t)body > IN_SIZE)
		return -1;
	return c->in_len >= head_len + (size_t)body ? (ssize_t)(head_len + (size_t)body) : 0;
}

static void on_readable(struct conn *c, int64_t now)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->in_len, IN_SIZE - c->in_len, 0);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			reset_conn(c);
			return;
		}
		c->in_len += (size_t)n;
		int status;
		ssize_t len;
		while ((len = response_length(c, &status)) > 0) {
			if (c->outstanding < 0) {   /* a response nobody asked for */
				reset_conn(c);
				return;
			}
			if (status >= 200 && status < 300)
				++total;
			if (c->outstanding >= measure_from) {
				if (status >= 200 && status < 300) {
					++done;
					if (lat_n < lat_cap)
						lat[lat_n++] = now - c->outstanding;
				} else {
					++errors;
				}
			}
			c->outstanding = -1;
			memmove(c->in, c->in + len, c->in_len - (size_t)len);
			c->in_len -= (size_t)len;
		}
		if (len < 0) {
			reset_conn(c);
			return;
		}
	}
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void print_ms(const char *name, double ns)
{
	double ms = ns / 1e6;
	if (ms >= 100)
		printf(" %s=%.0f", name, ms);
	else
		printf(" %s=%.3g", name, ms);
}

static double percentile(double p)
{
	if (lat_n == 0)
		return 0;
	size_t rank = (size_t)(p * (double)lat_n + 0.999999);   /* nearest rank */
	if (rank < 1)
		rank = 1;
	if (rank > lat_n)
		rank = lat_n;
	return (double)lat[rank - 1];
}

int main(int argc, char **argv)
{
	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: openloop HOST:PORT RATE CONNECTIONS SECONDS [PATH=/]\n");
		return 64;
	}
	char *end;
	double rate = strtod(argv[2], &end);
	if (*end || !(rate > 0 && rate <= 1e7)) {
		fprintf(stderr, "openloop: bad rate '%s' (requests per second, > 0)\n", argv[2]);
		return 64;
	}
	long nconn = strtol(argv[3], &end, 10);
	if (*end || nconn < 1 || nconn > 100000) {
		fprintf(stderr, "openloop: bad connection count '%s' (1 to 100000)\n", argv[3]);
		return 64;
	}
	double seconds = strtod(argv[4], &end);
	if (*end || !(seconds > 0 && seconds <= 86400)) {
		fprintf(stderr, "openloop: bad duration '%s' (seconds, > 0)\n", argv[4]);
		return 64;
	}
	const char *path = argc == 6 ? argv[5] : "/";
	if (path[0] != '/' || strpbrk(path, " \r\n") || strlen(path) > 512) {
		fprintf(stderr, "openloop: bad path '%s'\n", path);
		return 64;
	}
	char host[256];
	const char *colon = strrchr(argv[1], ':');
	if (!colon || colon == argv[1] || (size_t)(colon - argv[1]) >= sizeof host) {
		fprintf(stderr, "openloop: bad address '%s' (HOST:PORT)\n", argv[1]);
		return 64;
	}
	memcpy(host, argv[1], (size_t)(colon - argv[1]));
	host[colon - argv[1]] = 0;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai;
	int gai = getaddrinfo(host, colon + 1, &hints, &ai);
	if (gai != 0) {
		fprintf(stderr, "openloop: cannot resolve '%s': %s\n", argv[1], gai_strerror(gai));
		return 64;
	}
	memcpy(&target, ai->ai_addr, ai->ai_addrlen);
	target_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	request_len = (size_t)snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, argv[1]);
	signal(SIGPIPE, SIG_IGN);

	epfd = epoll_create1(EPOLL_CLOEXEC);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct epoll_event tev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &tev);
	struct conn *conns = calloc((size_t)nconn, sizeof *conns);
	lat_cap = (size_t)(rate * seconds) + (size_t)nconn + 16;
	lat = malloc(lat_cap * sizeof *lat);
	if (!conns || !lat) {
		fprintf(stderr, "openloop: out of memory\n");
		return 1;
	}
	for (long i = 0; i < nconn; ++i) {
		conns[i].outstanding = -1;
		if (open_conn(&conns[i]) < 0) {
			fprintf(stderr, "openloop: cannot connect to %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
	}

	const int64_t interval = (int64_t)(1e9 / rate);
	const int64_t start = now_ns() + 10 * 1000 * 1000;   /* the schedule starts in 10 ms */
	measure_from = start + WARMUP_NS;
	const int64_t stop = measure_from + (int64_t)(seconds * 1e9);   /* nothing is due from here */
	const int64_t give_up = stop + GRACE_NS;
	for (long i = 0; i < nconn; ++i)
		conns[i].next_due = start + i * interval;
	const int64_t period = interval * nconn;   /* a connection's own spacing */

	struct epoll_event events[256];
	for (;;) {
		int64_t now = now_ns();
		/* Send whatever is due on idle connections; find the next due time. */
		int64_t next = INT64_MAX;
		int pending = 0;
		for (long i = 0; i < nconn; ++i) {
			struct conn *c = &conns[i];
			if (c->outstanding < 0 && c->next_due < stop && c->next_due <= now) {
				send_request(c, c->next_due);
				c->next_due += period;
			}
			if (c->outstanding >= 0 || c->next_due < stop)
				pending = 1;
			if (c->outstanding < 0 && c->next_due < stop && c->next_due < next)
				next = c->next_due;
		}
		if (!pending || now >= give_up)
			break;
		if (next != INT64_MAX) {
			struct itimerspec its = { .it_value = { (time_t)(next / 1000000000LL), (long)(next % 1000000000LL) } };
			timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
		}
		int wait_ms = (int)((give_up - now) / 1000000) + 1;
		int n = epoll_wait(epfd, events, 256, wait_ms);
		if (n < 0 && errno != EINTR) {
			perror("openloop: epoll_wait");
			return 1;
		}
		now = now_ns();
		for (int k = 0; k < n; ++k) {
			if (events[k].data.ptr == NULL) {
				uint64_t ticks;
				if (read(tfd, &ticks, sizeof ticks) < 0) { /* a stale wake-up */ }
				continue;
			}
			on_readable(events[k].data.ptr, now);
		}
	}
	/* Requests still in flight, and those due but never sent, are errors. */
	for (long i = 0; i < nconn; ++i) {
		struct conn *c = &conns[i];
		if (c->outstanding >= measure_from)
			++errors;
		for (int64_t due = c->next_due; due < stop; due += period)
			if (due >= measure_from)
				++errors;   /* it was due and never went out */
	}
	qsort(lat, lat_n, sizeof *lat, cmp64);
	printf("sent=%llu done=%llu errors=%llu", (unsigned long long)sent, (unsigned long long)done, (unsigned long long)errors);
	print_ms("p50", percentile(0.50));
	print_ms("p90", percentile(0.90));
	print_ms("p99", percentile(0.99));
	print_ms("p999", percentile(0.999));
	print_ms("max", lat_n ? (double)lat[lat_n - 1] : 0);
	printf(" total=%llu\n", (unsigned long long)total);
	return done > 0 ? 0 : 1;
}
