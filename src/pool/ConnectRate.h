#pragma once

#include <chrono>
#include <deque>

namespace ForwardOptimal {
namespace Pool {

/// A cap on pre-connects to one target: at most `perSecond` in any second (a sliding window
/// of their start times). Whatever else goes wrong (a server that closes every connection
/// after a while, a misjudged closure), the pool cannot open more than this on its own.
/// Replacing a socket that a client took is not the pool's own doing: each client served from
/// the pool earns one credit (at most `perSecond` kept), and a pre-connect spends a credit
/// before it counts against the window. So the server sees at most one connection per client
/// (as without a pool) plus `perSecond` a second, and a pool serving 10 clients a second keeps
/// up with them. Time comes from the caller. Not thread-safe: the pool guards it.
class ConnectRate
{
public:
	using Clock = std::chrono::steady_clock;

	explicit ConnectRate(unsigned perSecond = 1): _perSecond(perSecond == 0 ? 1 : perSecond) {}

	bool allow(Clock::time_point now);
		/// True (and the connect is counted) when fewer than perSecond started in the last second.

	Clock::time_point nextAllowed(Clock::time_point now);
		/// When allow() will be true again (now if it already is).

	void credit();
		/// A client took a pooled socket: one replacement is allowed outside the window.

private:
	void forget(Clock::time_point now);

	unsigned _perSecond;
	unsigned _credits = 0;
	std::deque<Clock::time_point> _starts;
};

} } // namespace ForwardOptimal::Pool
