#pragma once

#include "config/Settings.h"
#include "health/HealthSnapshot.h"
#include "health/Prober.h"

#include <optional>
#include <string>
#include <vector>

namespace ForwardOptimal {
namespace Health {

/// The selection policy as pure functions over TargetStatus, so every rule is unit-tested
/// without sockets or clocks. Thread-safe (stateless).
///
/// - Smoothing: an EWMA of the connect latency (weight `latencySmoothing` for the newest
///   sample), restarted from the first sample each time a target comes back up.
/// - Rise/fall: a down target is used again after `rise` successes in a row, an up one dropped
///   after `fall` failures in a row; the very first probe decides at once either way.
/// - Ranking: usable = healthy and not slower than `maxLatency` (if set), by smoothed latency.
/// - Hysteresis: the current best keeps its place unless a challenger is faster by
///   max(switchMargin ms, switchMarginPercent % of the best's latency), or unless the best's
///   latest sample is DEGRADATION_FACTOR times the challenger's latency (a clear slowdown
///   takes effect in the round it is seen, however heavy the smoothing).
class Selector
{
public:
	static constexpr double DEGRADATION_FACTOR = 3.0;

	enum class Change { NONE, UP, DOWN };

	static Change apply(TargetStatus& status, const ProbeResult& result, const Config::Settings& settings,
		const Poco::Timestamp& now);
		/// Folds one probe result into the target's status; says whether it came up or went down.
		/// A probe that failed for a local reason (ProbeResult::local) changes nothing.

	static Change markFailed(TargetStatus& status, const std::string& reason, const Config::Settings& settings,
		const Poco::Timestamp& now);
		/// A failure seen by the forwarding path: the target goes down at once, whatever `fall` says.

	static std::vector<std::size_t> rank(const std::vector<TargetStatus>& targets, std::optional<std::size_t> currentBest,
		const Config::Settings& settings);
		/// Usable targets, best first, with the hysteresis above applied to `currentBest`.

	static bool usable(const TargetStatus& status, const Config::Settings& settings);
};

} } // namespace ForwardOptimal::Health
