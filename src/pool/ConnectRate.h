#pragma once

#include <chrono>
#include <deque>

namespace ForwardOptimal {
namespace Pool {

/// A cap on pre-connects to one target: at most `perSecond` in any second (a sliding window
/// of their start times). Whatever else goes wrong (a server that closes every connection
/// after a while, a misjudged closure), the pool cannot open more than this. Time comes from
/// the caller. Not thread-safe: the pool guards it.
class ConnectRate
{
public:
	using Clock = std::chrono::steady_clock;

	explicit ConnectRate(unsigned perSecond = 1): _perSecond(perSecond == 0 ? 1 : perSecond) {}

	bool allow(Clock::time_point now);
		/// True (and the connect is counted) when fewer than perSecond started in the last second.

	Clock::time_point nextAllowed(Clock::time_point now);
		/// When allow() will be true again (now if it already is).

private:
	void forget(Clock::time_point now);

	unsigned _perSecond;
	std::deque<Clock::time_point> _starts;
};

} } // namespace ForwardOptimal::Pool
