#include "net/Listener.h"

#include "net/AcceptedSocket.h"
#include "net/ResourceShortage.h"
#include "stats/LogThrottle.h"

#include "Poco/Exception.h"
#include "Poco/Logger.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/ServerSocketImpl.h"
#include "Poco/Thread.h"

#include <cerrno>
#include <cstring>
#include <memory>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

namespace ForwardOptimal {
namespace Net {

namespace {

// How long accepting pauses after accept() failed for want of descriptors or memory.
constexpr long ACCEPT_PAUSE_MS = 100;

/// POCO 1.11's SocketImpl::poll() builds an epoll set for every call (epoll_create, epoll_ctl,
/// epoll_wait, close); TCPServer calls it before every accept. One poll(2) does the same job.
class ListeningSocketImpl: public Poco::Net::ServerSocketImpl
{
public:
	/// After listen(): TCP_NODELAY and SO_KEEPALIVE on the listening socket, which every
	/// accepted socket inherits (Linux copies both into the accepted socket), so no session
	/// sets them again; and the local address, when the listener is bound to one address, so
	/// no accepted socket needs getsockname() for it.
	void prepare()
	{
		int on = 1;
		_inherits = ::setsockopt(sockfd(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0
			&& ::setsockopt(sockfd(), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) == 0;
		Poco::Net::SocketAddress local = address();
		if (!local.host().isWildcard())
			_pLocal = std::make_shared<const Poco::Net::SocketAddress>(local);
	}

	bool poll(const Poco::Timespan& timeout, int mode) override
	{
		pollfd entry{sockfd(), 0, 0};
		if (mode & Poco::Net::Socket::SELECT_READ)
			entry.events |= POLLIN;
		if (mode & Poco::Net::Socket::SELECT_WRITE)
			entry.events |= POLLOUT;
		int ready;
		do
			ready = ::poll(&entry, 1, static_cast<int>(timeout.totalMilliseconds()));
		while (ready < 0 && errno == EINTR);
		if (ready < 0)
			error(errno);
		return ready > 0;
	}

	/// accept() fails for want of resources when the process is out of descriptors (EMFILE),
	/// the system is (ENFILE), or kernel memory is short (ENOBUFS, ENOMEM). The client stays in
	/// the backlog, so the listener stays readable, and POCO 1.11's TCPServer::run() polls and
	/// accepts again at once: one core at 100 % for as long as the shortage lasts, competing
	/// with the sessions whose end would free descriptors. Instead, accepting pauses for
	/// ACCEPT_PAUSE_MS (as nginx pauses its accept events on EMFILE): waiting clients stay in
	/// the backlog and are served once descriptors are free again; nothing else changes.
	Poco::Net::SocketImpl* acceptConnection(Poco::Net::SocketAddress& clientAddr) override
	{
		// accept4 directly (as POCO's would, plus close-on-exec): the errno is at hand without
		// catching POCO's exception, and POCO's error() still throws what TCPServer expects.
		sockaddr_storage peer{};
		socklen_t length = sizeof peer;
		int fd;
		do
			fd = ::accept4(sockfd(), reinterpret_cast<sockaddr*>(&peer), &length, SOCK_CLOEXEC);
		while (fd < 0 && errno == EINTR);
		if (fd < 0)
		{
			int code = errno;
			if (isResourceShortage(code))
			{
				if (_shortageLog.allow())
					logShortage(code);
				Poco::Thread::sleep(ACCEPT_PAUSE_MS);
			}
			error(code);
		}
		clientAddr = Poco::Net::SocketAddress(reinterpret_cast<const sockaddr*>(&peer), length);
		return new AcceptedSocketImpl(fd, reinterpret_cast<const sockaddr*>(&peer), length, _pLocal, _inherits);
	}

private:
	void logShortage(int code)
	{
		std::string detail;
		rlimit limit{};
		if (code == EMFILE && getrlimit(RLIMIT_NOFILE, &limit) == 0)
			detail = " (RLIMIT_NOFILE " + std::to_string(limit.rlim_cur) + ", ulimit -n)";
		std::string where;
		try
		{
			where = " " + address().toString();
		}
		catch (const Poco::Exception&)
		{
		}
		Poco::Logger::get("ForwardOptimal.Net.Listener").warning("⚠️  无法接受新连接" + where + ": "
			+ std::strerror(code) + detail + "; 每 " + std::to_string(ACCEPT_PAUSE_MS)
			+ " ms 重试, 新客户端在队列中等待 (此消息每 10 秒最多一次)");
	}

	Stats::LogThrottle _shortageLog{std::chrono::seconds(10)};
	std::shared_ptr<const Poco::Net::SocketAddress> _pLocal;  // set when bound to one address
	bool _inherits = false;                           // TCP_NODELAY and SO_KEEPALIVE are set
};

/// A ServerSocket on a ListeningSocketImpl (the constructor that takes an impl is protected).
class ListeningSocket: public Poco::Net::ServerSocket
{
public:
	ListeningSocket(): Poco::Net::ServerSocket(new ListeningSocketImpl, true) {}
};

Poco::Net::ServerSocket bindDualStack(std::uint16_t port)
{
	Poco::Net::ServerSocket socket = ListeningSocket();
	try
	{
		socket.bind6(Poco::Net::SocketAddress(Poco::Net::IPAddress::wildcard(Poco::Net::IPAddress::IPv6), port),
			true, false, false);
	}
	catch (const Poco::Net::NetException&)
	{
		// No IPv6 on this host (EAFNOSUPPORT): fall back to every IPv4 address. A real
		// bind error (port in use) will show again, and be reported, on this attempt.
		socket = ListeningSocket();
		socket.bind(Poco::Net::SocketAddress(Poco::Net::IPAddress::wildcard(Poco::Net::IPAddress::IPv4), port), true, false);
	}
	return socket;
}

} // namespace


Poco::Net::ServerSocket Listener::listen(const Config::Endpoint& endpoint, int backlog)
{
	try
	{
		Poco::Net::ServerSocket socket = ListeningSocket();
		using Kind = Config::Endpoint::HostKind;
		if (endpoint.kind() == Kind::ANY || (endpoint.kind() == Kind::IPV6 && endpoint.host() == "::"))
			socket = bindDualStack(endpoint.port());
		else
		{
			Poco::Net::SocketAddress address(endpoint.host(), endpoint.port());
			if (address.family() == Poco::Net::SocketAddress::IPv6)
				socket.bind6(address, true, false, true);
			else
				socket.bind(address, true, false);
		}
		socket.listen(backlog);
		static_cast<ListeningSocketImpl*>(socket.impl())->prepare();
		return socket;
	}
	catch (const Poco::Exception& error)
	{
		throw Poco::IOException("cannot listen on " + endpoint.toString() + ": " + error.displayText());
	}
}

} } // namespace ForwardOptimal::Net
