#pragma once

namespace ForwardOptimal {
namespace Net {

/// An eventfd that one thread waits on in `poll` (with sockets) and others signal: a
/// condition variable for a thread that also waits for descriptors. notify() is async-signal
/// safe and thread-safe; several notifications before a wait count as one.
class Wakeup
{
public:
	Wakeup();
		/// Throws Poco::SystemException when no eventfd can be created.
	~Wakeup();

	Wakeup(const Wakeup&) = delete;
	Wakeup& operator=(const Wakeup&) = delete;

	void notify();
		/// Makes fd() readable until the next drain().

	void drain();
		/// Consumes the pending notifications (call after poll reported fd() readable).

	int fd() const { return _fd; }
		/// Poll it for POLLIN.

private:
	int _fd;
};

} } // namespace ForwardOptimal::Net
