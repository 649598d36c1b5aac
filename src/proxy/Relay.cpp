#include "proxy/Relay.h"

#include <cerrno>
#include <cstring>

#include <poll.h>
#include <sys/socket.h>

namespace ForwardOptimal {
namespace Proxy {

const char* toString(RelayEnd end)
{
	switch (end)
	{
	case RelayEnd::COMPLETED: return "completed";
	case RelayEnd::IDLE_TIMEOUT: return "idle timeout";
	case RelayEnd::STOPPED: return "stopped";
	case RelayEnd::CLIENT_ERROR: return "client error";
	case RelayEnd::UPSTREAM_ERROR: return "upstream error";
	}
	return "?";
}


Relay::Relay(int clientFd, int upstreamFd, std::size_t bufferSize, std::chrono::milliseconds idleTimeout, int stopFd):
	_client(clientFd),
	_upstream(upstreamFd),
	_idleTimeout(idleTimeout),
	_stopFd(stopFd)
{
	_up.from = clientFd;
	_up.to = upstreamFd;
	_down.from = upstreamFd;
	_down.to = clientFd;
	_bufferSize = bufferSize;
}


void Relay::fail(RelayResult& result, int fd, int error)
{
	result.end = fd == _client ? RelayEnd::CLIENT_ERROR : RelayEnd::UPSTREAM_ERROR;
	result.detail = std::string(fd == _client ? "client: " : "upstream: ") + std::strerror(error);
	// Reset the other side: a FIN would tell it the stream ended cleanly, which it did not.
	int other = fd == _client ? _upstream : _client;
	linger reset{1, 0};
	::setsockopt(other, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
}


bool Relay::flush(Direction& d, RelayResult& result)
{
	while (d.pending())
	{
		ssize_t sent = ::send(d.to, d.buffer.get() + d.start, d.end - d.start, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0)
		{
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true; // poll for POLLOUT
			fail(result, d.to, errno);
			return false;
		}
		d.start += static_cast<std::size_t>(sent);
		d.bytes += static_cast<std::uint64_t>(sent);
	}
	d.start = d.end = 0;
	if (d.eof && !d.shut)
	{
		::shutdown(d.to, SHUT_WR);
		d.shut = true;
	}
	return true;
}


bool Relay::readInto(Direction& d, RelayResult& result)
{
	// Buffers exist only while a direction carries bytes: an idle session (the common case for
	// SSH and other long-lived connections) holds no relay memory at all.
	if (!d.buffer)
		d.buffer.reset(new char[_bufferSize]); // not value-initialised: no need to zero it
	ssize_t received;
	do
		received = ::recv(d.from, d.buffer.get(), _bufferSize, MSG_DONTWAIT);
	while (received < 0 && errno == EINTR);
	if (received < 0)
	{
		if (errno == EAGAIN || errno == EWOULDBLOCK)
		{
			d.buffer.reset(); // nothing to read after all (nothing is pending either)
			return true;
		}
		fail(result, d.from, errno);
		return false;
	}
	if (received == 0)
		d.eof = true;
	d.start = 0;
	d.end = static_cast<std::size_t>(received);
	bool ok = flush(d, result); // most of the time the bytes go out at once, without another poll
	// A short read means the peer has nothing more for now: give the buffer back until it does.
	// A full one means bulk transfer: keep it for the next read.
	if (ok && !d.pending() && static_cast<std::size_t>(received) < _bufferSize)
		d.buffer.reset();
	return ok;
}


// One poll loop over both directions, kept whole (about 60 lines): its states (half-closed,
// backpressure, idle deadline, stop signal) are read together, and splitting it would spread
// one decision per poll() over several functions.
RelayResult Relay::run()
{
	RelayResult result;
	int timeout = _idleTimeout.count() > 0 ? static_cast<int>(_idleTimeout.count()) : -1;
	// Most clients send as soon as they are connected (HTTP, TLS): by the time a session
	// thread starts, the first bytes are usually waiting, so take them without a poll().
	if (!readInto(_up, result))
	{
		result.clientToUpstream = _up.bytes;
		return result;
	}
	while (!(_up.done() && _down.done()))
	{
		pollfd fds[3] = {{_client, 0, 0}, {_upstream, 0, 0}, {_stopFd, POLLIN, 0}};
		for (Direction* d : {&_up, &_down})
		{
			pollfd& from = d->from == _client ? fds[0] : fds[1];
			pollfd& to = d->to == _client ? fds[0] : fds[1];
			if (!d->eof && !d->pending())
				from.events |= POLLIN;
			if (d->pending())
				to.events |= POLLOUT;
		}
		// A descriptor with nothing wanted is left out: its POLLHUP would otherwise wake this
		// loop again and again while the other direction waits for room to write.
		for (pollfd& entry : fds)
			if (entry.events == 0)
				entry.fd = -1;
		int ready = ::poll(fds, 3, timeout);
		if (ready < 0)
		{
			if (errno == EINTR)
				continue;
			fail(result, _client, errno);
			break;
		}
		if (ready == 0)
		{
			result.end = RelayEnd::IDLE_TIMEOUT;
			break;
		}
		if (fds[2].revents)
		{
			result.end = RelayEnd::STOPPED;
			break;
		}
		bool ok = true;
		for (Direction* d : {&_up, &_down})
		{
			const pollfd& from = d->from == _client ? fds[0] : fds[1];
			const pollfd& to = d->to == _client ? fds[0] : fds[1];
			if (ok && d->pending() && (to.revents & (POLLOUT | POLLERR | POLLHUP)))
				ok = flush(*d, result);
			if (ok && !d->eof && !d->pending() && (from.revents & (POLLIN | POLLERR | POLLHUP)))
				ok = readInto(*d, result);
		}
		if (!ok)
			break;
	}
	result.clientToUpstream = _up.bytes;
	result.upstreamToClient = _down.bytes;
	return result;
}

} } // namespace ForwardOptimal::Proxy
