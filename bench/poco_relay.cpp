// The floor of the fixed shape: a Poco::Net::TCPServer with a bounded thread pool whose
// connection is the same minimal relay as bench/bare_relay.c (blocking connect, one poll() over
// both sockets, a 32 KiB buffer per direction, half-close passed on). No configuration, health,
// pool, header, log or metric: what POCO's accept thread, its dispatcher hand-off and thread
// pool cost by themselves. Not part of the product; scripts/bench.sh builds and runs it.
//   poco_relay LISTEN_PORT TARGET_HOST:PORT [BUFFER=32768]
#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/SocketAddress.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/Net/TCPServer.h"
#include "Poco/Net/TCPServerConnection.h"
#include "Poco/Net/TCPServerConnectionFactory.h"
#include "Poco/Net/TCPServerParams.h"
#include "Poco/ThreadPool.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

Poco::Net::SocketAddress gTarget;
std::size_t gBuffer = 32768;

struct Side
{
	int from;
	int to;
	bool eof = false;
};

// Reads what is there and writes all of it (blocking writes); false on an error.
bool pass(Side& side, char* buffer)
{
	ssize_t n = ::recv(side.from, buffer, gBuffer, 0);
	if (n < 0)
		return false;
	if (n == 0)
	{
		side.eof = true;
		::shutdown(side.to, SHUT_WR);
		return true;
	}
	for (ssize_t sent = 0; sent < n;)
	{
		ssize_t m = ::send(side.to, buffer + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
		if (m <= 0)
			return false;
		sent += m;
	}
	return true;
}

class Relay: public Poco::Net::TCPServerConnection
{
public:
	using Poco::Net::TCPServerConnection::TCPServerConnection;

	void run() override
	{
		int client = socket().impl()->sockfd();
		int upstream = ::socket(gTarget.af(), SOCK_STREAM | SOCK_CLOEXEC, 0);
		int on = 1;
		::setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
		if (upstream < 0 || ::connect(upstream, gTarget.addr(), gTarget.length()) != 0)
		{
			if (upstream >= 0)
				::close(upstream);
			return;
		}
		std::unique_ptr<char[]> up(new char[gBuffer]);
		std::unique_ptr<char[]> down(new char[gBuffer]);
		Side toUpstream{client, upstream};
		Side toClient{upstream, client};
		while (!(toUpstream.eof && toClient.eof))
		{
			pollfd fds[2] = {{toUpstream.eof ? -1 : client, POLLIN, 0}, {toClient.eof ? -1 : upstream, POLLIN, 0}};
			if (::poll(fds, 2, -1) < 0)
				break;
			if ((fds[0].revents && !pass(toUpstream, up.get())) || (fds[1].revents && !pass(toClient, down.get())))
				break;
		}
		::close(upstream);
	}
};

} // namespace

int main(int argc, char** argv)
{
	if (argc < 3)
	{
		std::fprintf(stderr, "usage: %s LISTEN_PORT TARGET_HOST:PORT [BUFFER]\n", argv[0]);
		return 2;
	}
	gTarget = Poco::Net::SocketAddress(argv[2]);
	if (argc > 3)
		gBuffer = std::strtoul(argv[3], nullptr, 10);
	std::signal(SIGPIPE, SIG_IGN);
	rlimit files{}; // two descriptors per held connection: as many as the hard limit allows
	if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max)
	{
		files.rlim_cur = files.rlim_max;
		setrlimit(RLIMIT_NOFILE, &files);
	}
	sigset_t stop; // blocked before any thread starts, so every thread inherits the mask
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, nullptr);
	Poco::Net::ServerSocket listener(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(std::atoi(argv[1]))), 4096);
	Poco::ThreadPool threads("relay", 2, 8000, 60, 256 * 1024);
	Poco::Net::TCPServerParams::Ptr pParams = new Poco::Net::TCPServerParams;
	pParams->setMaxThreads(8000);
	pParams->setMaxQueued(8000);
	Poco::Net::TCPServer server(new Poco::Net::TCPServerConnectionFactoryImpl<Relay>(), threads, listener, pParams);
	server.start();
	int signal = 0;
	sigwait(&stop, &signal);
	server.stop();
	return 0;
}
