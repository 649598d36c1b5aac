#include "net/Listener.h"

#include "Poco/Exception.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/ServerSocketImpl.h"

#include <cerrno>

#include <poll.h>

namespace ForwardOptimal {
namespace Net {

namespace {

/// POCO 1.11's SocketImpl::poll() builds an epoll set for every call (epoll_create, epoll_ctl,
/// epoll_wait, close); TCPServer calls it before every accept. One poll(2) does the same job.
class ListeningSocketImpl: public Poco::Net::ServerSocketImpl
{
public:
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
		return socket;
	}
	catch (const Poco::Exception& error)
	{
		throw Poco::IOException("cannot listen on " + endpoint.toString() + ": " + error.displayText());
	}
}

} } // namespace ForwardOptimal::Net
