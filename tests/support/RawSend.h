#pragma once

#include <cerrno>
#include <cstddef>

#include <sys/socket.h>
#include <sys/types.h>

namespace ForwardOptimal {
namespace Test {

/// Writes all of `data[0..size)` to the socket `fd`, blocking, retrying on EINTR, without
/// SIGPIPE. False once the peer is gone or an error occurs.
inline bool sendAll(int fd, const char* data, std::size_t size)
{
	while (size > 0)
	{
		ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data += n;
		size -= static_cast<std::size_t>(n);
	}
	return true;
}

} } // namespace ForwardOptimal::Test
