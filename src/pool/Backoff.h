#pragma once

#include <chrono>

namespace ForwardOptimal {
namespace Pool {

/// How long the pool waits before it pre-connects to a target again after the target refused
/// (closed a new connection at once, perhaps with an error greeting) or a pre-connect failed:
/// INITIAL after the first failure, doubling with each one after it up to MAX, and back to
/// nothing once a pooled socket of the target was handed to a client. So a server that blocks
/// the proxy's address sees a few connections a minute, never a storm. Time comes from the
/// caller (unit-testable without sleeping). Not thread-safe: the pool guards it.
class Backoff
{
public:
	using Clock = std::chrono::steady_clock;

	static constexpr std::chrono::milliseconds INITIAL{1000};
	static constexpr std::chrono::milliseconds MAX{60000};

	void failed(Clock::time_point now);
		/// One more failure: no pre-connect before now + the next delay. A failure while
		/// still waiting belongs to the same attempt and changes nothing.

	void reset();
		/// A pooled socket served a client: the target is fine.

	bool ready(Clock::time_point now) const { return now >= _until; }
		/// Whether a pre-connect may start now.

	Clock::time_point until() const { return _until; }
		/// The earliest time of the next pre-connect.

	std::chrono::milliseconds delay() const { return _delay; }
		/// The last delay applied; zero when not backing off.

	unsigned failures() const { return _failures; }
		/// Failures since the last reset.

private:
	std::chrono::milliseconds _delay{0};
	Clock::time_point _until{};
	unsigned _failures = 0;
};

} } // namespace ForwardOptimal::Pool
