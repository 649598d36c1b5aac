#include "proxy/Relay.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
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


namespace {

// What one splice() from a socket asks for: the kernel stops earlier, at the pipe's 16 slots or
// when the socket has nothing more queued.
constexpr std::size_t SPLICE_REQUEST = 1 << 20;

// A splice read of at least this much (or bufferSize, if smaller) counts as bulk: a pipe holds
// 16 slots, 64 KiB when each is one page.
constexpr std::size_t SPLICE_BULK = 64 * 1024;

// Splice reads in a row before the poll loop looks at the other direction again.
constexpr int SPLICE_ROUNDS = 8;

constexpr unsigned SPLICE_FLAGS = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;

void setNonBlocking(int fd)
{
	int flags = ::fcntl(fd, F_GETFL);
	if (flags >= 0 && !(flags & O_NONBLOCK))
		::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

} // namespace


Relay::Relay(int clientFd, int upstreamFd, std::size_t bufferSize, std::chrono::milliseconds idleTimeout, int stopFd,
		SpliceOptions splice):
	_client(clientFd),
	_upstream(upstreamFd),
	_idleTimeout(idleTimeout),
	_stopFd(stopFd),
	_bufferSize(bufferSize),
	_splice(splice)
{
	_up.from = clientFd;
	_up.to = upstreamFd;
	_down.from = upstreamFd;
	_down.to = clientFd;
	if (_splice.mode == Config::SpliceMode::OFF)
		_splice.pPool = nullptr;
}


Relay::~Relay()
{
	releasePipes();
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


bool Relay::flushBuffer(Direction& d, RelayResult& result)
{
	while (d.start < d.end)
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
	return true;
}


bool Relay::flushPipe(Direction& d, RelayResult& result)
{
	while (d.inPipe > 0)
	{
		ssize_t moved = ::splice(d.pipe.readEnd, nullptr, d.to, nullptr, d.inPipe, SPLICE_FLAGS);
		if (moved < 0 && errno == EINTR)
			continue;
		if (moved < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true; // poll for POLLOUT
		if (moved <= 0)
		{
			fail(result, d.to, moved < 0 ? errno : EIO); // 0: the pipe is empty, which it cannot be
			return false;
		}
		d.inPipe -= static_cast<std::size_t>(moved);
		d.bytes += static_cast<std::uint64_t>(moved);
		d.spliced += static_cast<std::uint64_t>(moved);
	}
	return true;
}


// Writes what the direction holds; once all is out, passes on its EOF and gives its pipe back:
// a direction never waits for input holding a pipe (only while the pipe holds bytes).
bool Relay::flush(Direction& d, RelayResult& result)
{
	if (!(d.inPipe > 0 ? flushPipe(d, result) : flushBuffer(d, result)))
		return false;
	if (d.pending())
		return true;
	if (d.eof && !d.shut)
	{
		::shutdown(d.to, SHUT_WR);
		d.shut = true;
	}
	if (d.pipe.valid())
		givePipeBack(d);
	return true;
}


bool Relay::wantsPipe(const Direction& d) const
{
	if (!_splice.pPool || d.pipe.valid() || d.noPipe)
		return false;
	return _splice.mode == Config::SpliceMode::ALWAYS || d.bulk;
}


void Relay::takePipe(Direction& d)
{
	d.pipe = _splice.pPool->acquire();
	if (!d.pipe.valid())
	{
		d.noPipe = true; // counted by the pool; copy until idle
		return;
	}
	d.buffer.reset(); // nothing is pending (a read only happens then): the buffer is empty
	if (!_nonBlocking)
	{
		// splice() honours only the descriptor's own flag: a blocking socket would block it.
		setNonBlocking(_client);
		setNonBlocking(_upstream);
		_nonBlocking = true;
	}
}


void Relay::givePipeBack(Direction& d)
{
	_splice.pPool->release(d.pipe); // checks that it is empty (it is: nothing is pending)
	d.pipe = Pipe(); // `bulk` stays: in AUTO the next read takes a pipe again if the last was bulk
}


void Relay::releasePipes()
{
	for (Direction* d : {&_up, &_down})
	{
		if (!d->pipe.valid())
			continue;
		if (d->inPipe > 0)
			_splice.pPool->discard(d->pipe); // the session ended with bytes in it: they are lost with it
		else
			_splice.pPool->release(d->pipe);
		d->pipe = Pipe();
		d->inPipe = 0;
	}
}


bool Relay::readInto(Direction& d, RelayResult& result)
{
	if (wantsPipe(d))
		takePipe(d);
	return d.pipe.valid() ? spliceIn(d, result) : copyIn(d, result);
}


// Reads again at once while the reads are bulk and their bytes go straight out (the socket
// likely holds more), at most SPLICE_ROUNDS times before the other direction gets its turn.
bool Relay::spliceIn(Direction& d, RelayResult& result)
{
	for (int round = 0; round < SPLICE_ROUNDS; ++round)
	{
		ssize_t moved;
		do
			moved = ::splice(d.from, nullptr, d.pipe.writeEnd, nullptr, SPLICE_REQUEST, SPLICE_FLAGS);
		while (moved < 0 && errno == EINTR);
		if (moved < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break; // nothing more for now
		if (moved < 0)
		{
			fail(result, d.from, errno); // the pipe was empty, so the error is the socket's
			return false;
		}
		d.eof = moved == 0;
		d.inPipe = static_cast<std::size_t>(moved);
		d.bulk = static_cast<std::size_t>(moved) >= std::min(_bufferSize, SPLICE_BULK);
		if (!flushPipe(d, result))
			return false;
		if (d.inPipe > 0)
			return true; // the other side is slow: keep the pipe and poll for room
		if (d.eof || !d.bulk)
			break;
	}
	return flush(d, result); // passes on an EOF, gives the pipe back
}


bool Relay::copyIn(Direction& d, RelayResult& result)
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
			d.noPipe = false;
			return true;
		}
		fail(result, d.from, errno);
		return false;
	}
	if (received == 0)
		d.eof = true;
	d.start = 0;
	d.end = static_cast<std::size_t>(received);
	// A full read means bulk transfer: keep the buffer for the next read (or move to a pipe).
	// A short one means the peer has nothing more for now: the direction is idle again.
	d.bulk = static_cast<std::size_t>(received) == _bufferSize;
	d.noPipe = d.noPipe && d.bulk;
	bool ok = flush(d, result); // most of the time the bytes go out at once, without another poll
	if (ok && !d.pending() && !d.bulk)
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
		releasePipes();
		result.clientToUpstream = _up.bytes;
		result.spliced = _up.spliced;
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
	releasePipes();
	result.clientToUpstream = _up.bytes;
	result.upstreamToClient = _down.bytes;
	result.spliced = _up.spliced + _down.spliced;
	return result;
}

} } // namespace ForwardOptimal::Proxy
