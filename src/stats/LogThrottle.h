#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace ForwardOptimal {
namespace Stats {

/// Says yes at most once per period: keeps an event that can repeat thousands of times a
/// second (a refused client) from flooding the log. Lock-free; safe from any thread.
class LogThrottle
{
public:
	explicit LogThrottle(std::chrono::milliseconds period);

	bool allow();
		/// True for the first call, then for the first call after each period has passed.

private:
	const std::int64_t _periodNs;
	std::atomic<std::int64_t> _nextNs;
};

} } // namespace ForwardOptimal::Stats
