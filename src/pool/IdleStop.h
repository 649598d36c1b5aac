#pragma once

#include <chrono>
#include <optional>

namespace ForwardOptimal {
namespace Pool {

/// Whether the pool is warm: a client arrived within `after` (poolIdleStop; zero = always
/// warm). A cold pool pre-connects nothing and holds no socket, so an idle proxy opens no
/// connection at all; the next client connects directly and warms it. The pool starts cold:
/// a freshly started proxy that no client uses opens nothing either (every pooled socket that
/// expires unused is a log line or an error count on some servers). Time comes from the caller.
/// Not thread-safe: the pool guards it.
class IdleStop
{
public:
	using Clock = std::chrono::steady_clock;

	explicit IdleStop(std::chrono::milliseconds after): _after(after) {}

	void clientArrived(Clock::time_point now) { _lastClient = now; }
		/// A client asked for an upstream socket.

	bool warm(Clock::time_point now) const
		/// Whether the pool should hold and refill sockets now.
	{
		return _after.count() == 0 || (_lastClient && now - *_lastClient < _after);
	}

	bool everWarmed() const { return _after.count() == 0 || _lastClient.has_value(); }
		/// Whether a client has arrived since the start (or the pool never goes cold).

	std::optional<Clock::time_point> coolsAt() const
		/// When the pool goes cold without another client; none when it is cold already or never cools.
	{
		return _after.count() == 0 || !_lastClient ? std::nullopt : std::optional<Clock::time_point>(*_lastClient + _after);
	}

private:
	std::chrono::milliseconds _after;
	std::optional<Clock::time_point> _lastClient; // none: no client since the start
};

} } // namespace ForwardOptimal::Pool
