#pragma once

#include <chrono>
#include <optional>

namespace ForwardOptimal {
namespace Pool {

/// Whether the pool is warm: clients have arrived within `after` (poolIdleStop; zero = always
/// warm). A cold pool pre-connects nothing and holds no socket, so an idle proxy opens no
/// connection at all; the next client connects directly and warms it again. The start of the
/// pool counts as a client's arrival, so the first clients find sockets ready. Time comes from
/// the caller. Not thread-safe: the pool guards it.
class IdleStop
{
public:
	using Clock = std::chrono::steady_clock;

	IdleStop(std::chrono::milliseconds after, Clock::time_point start): _after(after), _lastClient(start) {}

	void clientArrived(Clock::time_point now) { _lastClient = now; }
		/// A client asked for an upstream socket.

	bool warm(Clock::time_point now) const { return _after.count() == 0 || now - _lastClient < _after; }
		/// Whether the pool should hold and refill sockets now.

	std::optional<Clock::time_point> coolsAt() const
		/// When the pool goes cold without another client; none when it never does.
	{
		return _after.count() == 0 ? std::nullopt : std::optional<Clock::time_point>(_lastClient + _after);
	}

private:
	std::chrono::milliseconds _after;
	Clock::time_point _lastClient;
};

} } // namespace ForwardOptimal::Pool
