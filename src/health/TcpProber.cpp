#include "health/TcpProber.h"

#include "net/ResourceShortage.h"
#include "proxyprotocol/ProxyHeader.h"

#include "Poco/Net/NetException.h"
#include "Poco/Net/SocketAddress.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace ForwardOptimal {
namespace Health {

namespace {

/// SYN mode: the socket answers the SYN-ACK with a reset when closed. Set before the connect: in
/// "pingpong" mode Linux delays the ACK of the SYN-ACK instead of sending it at once, and the
/// reset on close overtakes it.
void closeWithReset(int fd)
{
	int off = 0;
	::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &off, sizeof off);
	linger reset{1, 0};
	::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
}

std::string timeoutText(std::chrono::milliseconds timeout)
{
	double seconds = static_cast<double>(timeout.count()) / 1000.0;
	std::string text = std::to_string(seconds);
	text.erase(text.find_last_not_of('0') + 1);
	if (text.back() == '.') text.pop_back();
	return "timeout after " + text + "s";
}

std::string describe(int error, std::chrono::milliseconds timeout)
{
	if (error == ETIMEDOUT)
		return timeoutText(timeout);
	if (error == ECONNREFUSED)
		return "connection refused";
	return std::strerror(error);
}

std::string describe(const Poco::Exception& error)
{
	if (error.code() != 0)
		return std::strerror(error.code());
	return error.displayText();
}

/// A descriptor closed on every path.
class Descriptor
{
public:
	explicit Descriptor(int fd): _fd(fd) {}
	~Descriptor() { if (_fd >= 0) ::close(_fd); }
	Descriptor(const Descriptor&) = delete;
	Descriptor& operator=(const Descriptor&) = delete;
	int get() const { return _fd; }

private:
	int _fd;
};

/// Starts a non-blocking connect and waits for its outcome until `timeout`. Returns 0 once
/// connected, otherwise the error (ETIMEDOUT when the time ran out).
int connectWithin(int fd, const Poco::Net::SocketAddress& address, std::chrono::milliseconds timeout)
{
	if (::connect(fd, address.addr(), address.length()) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	auto deadline = std::chrono::steady_clock::now() + timeout;
	for (;;)
	{
		auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
		if (left.count() <= 0)
			return ETIMEDOUT;
		pollfd waiting{fd, POLLOUT, 0};
		int ready = ::poll(&waiting, 1, static_cast<int>(left.count()));
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0)
			return errno;
		if (ready == 0)
			return ETIMEDOUT;
		int error = 0;
		socklen_t length = sizeof error;
		if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
			return errno;
		return error;
	}
}

Poco::Net::SocketAddress endpoint(int fd, bool peer)
{
	sockaddr_storage storage{};
	socklen_t length = sizeof storage;
	auto* pAddress = reinterpret_cast<sockaddr*>(&storage);
	if ((peer ? ::getpeername(fd, pAddress, &length) : ::getsockname(fd, pAddress, &length)) != 0)
		throw Poco::Net::NetException("cannot read the probe socket's address", errno);
	return Poco::Net::SocketAddress(pAddress, length);
}

/// Writes the PROXY header of a full-connect probe, best effort (the target is up already).
void sendProxyHeader(int fd, Config::ProxyProtocol version)
{
	std::string header = version == Config::ProxyProtocol::V2
		? ProxyProtocol::ProxyHeader::v2Local()
		: ProxyProtocol::ProxyHeader::v1(endpoint(fd, false), endpoint(fd, true));
	int flags = ::fcntl(fd, F_GETFL);
	::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	timeval limit{1, 0};
	::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
	std::size_t sent = 0;
	while (sent < header.size())
	{
		ssize_t n = ::send(fd, header.data() + sent, header.size() - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		sent += static_cast<std::size_t>(n);
	}
	::shutdown(fd, SHUT_WR);
}

} // namespace


TcpProber::TcpProber(Config::ProxyProtocol proxyProtocol, Config::ProbeMode mode):
	_proxyProtocol(proxyProtocol),
	_mode(mode)
{
}


ProbeResult TcpProber::probe(const Poco::Net::SocketAddress& address, std::chrono::milliseconds timeout)
{
	ProbeResult result;
	try
	{
		int family = address.family() == Poco::Net::SocketAddress::IPv6 ? AF_INET6 : AF_INET;
		Descriptor socket(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
		if (socket.get() < 0)
		{
			result.error = std::strerror(errno);
			result.local = Net::isResourceShortage(errno);
			return result;
		}
		if (_mode == Config::ProbeMode::SYN)
			closeWithReset(socket.get());
		auto started = std::chrono::steady_clock::now();
		int error = connectWithin(socket.get(), address, timeout);
		auto finished = std::chrono::steady_clock::now();
		if (error != 0)
		{
			result.error = describe(error, timeout);
			result.local = Net::isResourceShortage(error);
			return result;
		}
		result.latencyMs = std::chrono::duration<double, std::milli>(finished - started).count();
		result.ok = true;
		if (_mode == Config::ProbeMode::CONNECT && _proxyProtocol != Config::ProxyProtocol::NONE)
			sendProxyHeader(socket.get(), _proxyProtocol);
		// The Descriptor closes the socket: a reset in SYN mode, a FIN in CONNECT mode.
	}
	catch (const Poco::Exception& error)
	{
		// A failure after the connect (reading the endpoints for the header) still proves the
		// target up.
		if (!result.ok)
		{
			result.error = describe(error);
			result.local = Net::isResourceShortage(error.code());
		}
	}
	catch (const std::exception& error)
	{
		result.ok = false;
		result.error = error.what();
	}
	return result;
}

} } // namespace ForwardOptimal::Health
