#include "net/Connect.h"

#include "Poco/Net/StreamSocketImpl.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

namespace ForwardOptimal {
namespace Net {

namespace {

// The errno of a connect() that did not complete at once, after waiting up to `timeout` for it.
int finishConnect(int fd, std::chrono::milliseconds timeout)
{
	pollfd entry{fd, POLLOUT, 0};
	int ready;
	do
		ready = ::poll(&entry, 1, static_cast<int>(timeout.count()));
	while (ready < 0 && errno == EINTR);
	int error = 0;
	socklen_t length = sizeof error;
	if (ready == 0)
		return ETIMEDOUT;
	if (ready < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
		return errno;
	return error;
}

} // namespace


Connected connect(const Poco::Net::SocketAddress& address, std::chrono::milliseconds timeout)
{
	Connected result;
	int fd = ::socket(address.af(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
	{
		result.error = errno;
		result.text = std::string("cannot create a socket: ") + std::strerror(result.error);
		return result;
	}
	Poco::Net::StreamSocket socket(new Poco::Net::StreamSocketImpl(fd)); // owns fd from here
	// A blocking connect bounded by SO_SNDTIMEO (Linux ends it with EINPROGRESS when the time
	// is up): on the session's path that is one system call where a non-blocking connect
	// needs four more (poll, SO_ERROR, and two fcntl back to blocking). The send timeout stays:
	// a PROXY header's blocking send is then bounded by the same time; the relay does not
	// block (MSG_DONTWAIT).
	timeval limit{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
	if (limit.tv_sec == 0 && limit.tv_usec == 0)
		limit.tv_usec = 1000; // 0 would mean "no timeout"
	::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
	tune(socket); // before the connect: the same two calls, and the SYN already carries no delay
	int error = 0;
	if (::connect(fd, address.addr(), address.length()) != 0)
	{
		error = errno;
		if (error == EINPROGRESS)
			error = ETIMEDOUT; // the send timeout ran out
		else if (error == EINTR)
			error = finishConnect(fd, timeout); // a signal: the connect goes on, wait for it
	}
	if (error != 0)
	{
		result.error = error;
		result.text = (error == ETIMEDOUT ? std::string("connect timed out") : std::string(std::strerror(error)))
			+ ": " + address.toString();
		return result;
	}
	result.socket = socket;
	return result;
}


Liveness liveness(int fd)
{
	// The peek alone answers the common cases in one system call: nothing waiting (alive),
	// end of stream, or an error. Only bytes waiting (a banner) need the poll, to see whether
	// the peer closed after them.
	char byte;
	ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? Liveness::ALIVE : Liveness::CLOSED;
	if (n == 0)
		return Liveness::CLOSED;
	pollfd p{fd, POLLIN | POLLRDHUP, 0};
	if (::poll(&p, 1, 0) < 0)
		return Liveness::CLOSED;
	if (p.revents & (POLLERR | POLLHUP | POLLNVAL | POLLRDHUP))
		return Liveness::CLOSED_AFTER_DATA; // even if a banner is still unread
	return Liveness::ALIVE;
}


bool isAlive(int fd)
{
	return liveness(fd) == Liveness::ALIVE;
}


std::string peekText(int fd, std::size_t limit)
{
	char buffer[512];
	ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_PEEK | MSG_DONTWAIT);
	std::string text;
	for (ssize_t i = 0; i < n && text.size() < limit; ++i)
	{
		unsigned char c = static_cast<unsigned char>(buffer[i]);
		if (c == '\n' || c == '\r')
		{
			if (!text.empty())
				break;
			continue;
		}
		if (c >= 0x20 && c < 0x7f)
			text += static_cast<char>(c);
		else
		{
			char escaped[8];
			std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
			text += escaped;
		}
	}
	if (text.size() > limit)
		text.resize(limit);
	return text;
}


void tune(Poco::Net::StreamSocket& socket)
{
	socket.setNoDelay(true);
	socket.setKeepAlive(true);
}

} } // namespace ForwardOptimal::Net
