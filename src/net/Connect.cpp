#include "net/Connect.h"

#include "Poco/Net/StreamSocketImpl.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

namespace ForwardOptimal {
namespace Net {

Connected connect(const Poco::Net::SocketAddress& address, std::chrono::milliseconds timeout)
{
	Connected result;
	int fd = ::socket(address.af(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
	{
		result.error = errno;
		result.text = std::string("cannot create a socket: ") + std::strerror(result.error);
		return result;
	}
	Poco::Net::StreamSocket socket(new Poco::Net::StreamSocketImpl(fd)); // owns fd from here
	int error = 0;
	if (::connect(fd, address.addr(), address.length()) != 0)
	{
		error = errno;
		if (error == EINPROGRESS)
		{
			pollfd entry{fd, POLLOUT, 0};
			int ready;
			do
				ready = ::poll(&entry, 1, static_cast<int>(timeout.count()));
			while (ready < 0 && errno == EINTR);
			socklen_t length = sizeof error;
			if (ready == 0)
				error = ETIMEDOUT;
			else if (ready < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
				error = errno;
		}
	}
	if (error != 0)
	{
		result.error = error;
		result.text = (error == ETIMEDOUT ? std::string("connect timed out") : std::string(std::strerror(error)))
			+ ": " + address.toString();
		return result;
	}
	::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK); // blocking, as POCO's sockets are
	tune(socket);
	result.socket = socket;
	return result;
}


Liveness liveness(int fd)
{
	pollfd p{fd, POLLIN | POLLRDHUP, 0};
	if (::poll(&p, 1, 0) < 0)
		return Liveness::CLOSED;
	char byte;
	ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
	bool data = n > 0;
	if (p.revents & (POLLERR | POLLHUP | POLLNVAL | POLLRDHUP))
		return data ? Liveness::CLOSED_AFTER_DATA : Liveness::CLOSED; // even if a banner is still unread
	if (data || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
		return Liveness::ALIVE;
	return Liveness::CLOSED; // 0: closed since the poll; < 0: an error
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
