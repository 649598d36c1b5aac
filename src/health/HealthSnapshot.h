#pragma once

#include "config/Endpoint.h"
#include "health/HealthHistory.h"
#include "health/LatencyHistogram.h"

#include "Poco/Timestamp.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ForwardOptimal {
namespace Health {

/// What is known about one target after the latest probes.
struct TargetStatus
{
	Config::Endpoint target;
	bool probed = false;               /// at least one probe has finished
	bool healthy = false;
	double lastLatencyMs = -1;         /// latest successful probe; -1 = none yet
	double smoothedLatencyMs = -1;     /// EWMA of successful probes since it last came up
	std::string lastError;             /// reason of the latest failure
	std::string address;               /// what the name resolved to last time
	Poco::Timestamp lastChange;        /// when `healthy` last flipped (or the first probe)
	unsigned consecutiveFailures = 0;
	unsigned consecutiveSuccesses = 0;
	std::uint64_t probes = 0;          /// probes finished
	LatencyHistogram latencies;        /// of the successful ones
};

/// One published view of the targets: immutable once published, shared by pointer, so a
/// connection thread reads a consistent state without holding any lock.
struct HealthSnapshot
{
	std::vector<TargetStatus> targets;  /// in configuration order
	std::vector<std::size_t> ranking;   /// indexes into `targets` of usable targets, best first
	std::uint64_t round = 0;            /// health rounds completed
	Poco::Timestamp at;                 /// when it was published
	std::shared_ptr<const HealthHistory> pHistory = std::make_shared<const HealthHistory>();
		/// The last rounds and state changes up to this snapshot (never null; shared, not copied).

	bool paused() const { return ranking.empty(); }
		/// No healthy target: new clients are closed at once.

	const TargetStatus* best() const { return ranking.empty() ? nullptr : &targets[ranking.front()]; }

	std::size_t healthyCount() const;
};

} } // namespace ForwardOptimal::Health
