#pragma once

#include <array>
#include <cstdint>

namespace ForwardOptimal {
namespace Health {

/// Probe latencies of one target in fixed buckets, for the Prometheus histogram. A plain value
/// (copied into each snapshot); not thread-safe by itself.
struct LatencyHistogram
{
	static constexpr std::array<double, 13> BOUNDS_MS = {0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000};
		/// Upper bounds ("le") of the buckets in milliseconds; +Inf is implied.

	std::array<std::uint64_t, 13> buckets{};  /// samples <= BOUNDS_MS[i] (cumulative, as Prometheus wants)
	std::uint64_t count = 0;
	double sumMs = 0.0;

	void add(double ms)
	{
		for (std::size_t i = 0; i < BOUNDS_MS.size(); ++i)
			if (ms <= BOUNDS_MS[i])
				++buckets[i];
		++count;
		sumMs += ms;
	}
};

} } // namespace ForwardOptimal::Health
