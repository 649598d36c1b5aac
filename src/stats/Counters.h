#pragma once

#include <atomic>
#include <cstdint>

namespace ForwardOptimal {
namespace Stats {

/// Process-wide counters, in one place: the data path increments them, the health report and
/// (later) the metrics endpoint read them. Lock-free; safe from any thread.
struct Counters
{
	std::atomic<std::uint64_t> accepted{0};          /// clients handed to a connection thread
	std::atomic<std::uint64_t> refusedNoTarget{0};   /// closed at once: no healthy target
};

} } // namespace ForwardOptimal::Stats
