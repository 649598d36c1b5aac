#include "net/Wakeup.h"

#include "Poco/Exception.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include <sys/eventfd.h>
#include <unistd.h>

namespace ForwardOptimal {
namespace Net {

Wakeup::Wakeup():
	_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
{
	if (_fd < 0)
		throw Poco::SystemException(std::string("eventfd: ") + std::strerror(errno));
}


Wakeup::~Wakeup()
{
	::close(_fd);
}


void Wakeup::notify()
{
	std::uint64_t one = 1;
	// Only EAGAIN can fail here (the counter is full), and then fd() is readable anyway.
	if (::write(_fd, &one, sizeof one) < 0 && errno != EAGAIN)
		return;
}


void Wakeup::drain()
{
	// One read takes the whole count and resets it (no EFD_SEMAPHORE): a second read would
	// only find EAGAIN, one more system call for every wake-up.
	std::uint64_t count;
	ssize_t n;
	do
		n = ::read(_fd, &count, sizeof count);
	while (n < 0 && errno == EINTR);
}

} } // namespace ForwardOptimal::Net
