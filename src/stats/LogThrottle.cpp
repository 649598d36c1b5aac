#include "stats/LogThrottle.h"

namespace ForwardOptimal {
namespace Stats {

namespace {

std::int64_t nowNs()
{
	return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

} // namespace


LogThrottle::LogThrottle(std::chrono::milliseconds period):
	_periodNs(std::chrono::duration_cast<std::chrono::nanoseconds>(period).count()),
	_nextNs(0)
{
}


bool LogThrottle::allow()
{
	std::int64_t now = nowNs();
	std::int64_t next = _nextNs.load(std::memory_order_relaxed);
	// Only the caller that moves the deadline forward gets the yes.
	return now >= next && _nextNs.compare_exchange_strong(next, now + _periodNs, std::memory_order_relaxed);
}

} } // namespace ForwardOptimal::Stats
