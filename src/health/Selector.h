#pragma once

#include "config/Settings.h"
#include "health/HealthSnapshot.h"
#include "health/Prober.h"

#include "Poco/Net/SocketAddress.h"

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
/// - Addresses: each address of a name is a ProbeState of its own under the rules above; the
///   name is healthy while one of its addresses is, and has its best address's latency. The
///   best address is chosen among the name's addresses with the same hysteresis as the best
///   target among targets, so two near-equal addresses do not flap.
class Selector
{
public:
	static constexpr double DEGRADATION_FACTOR = 3.0;

	enum class Change { NONE, UP, DOWN };

	struct AddressResult
		/// One address's probe in a round.
	{
		Poco::Net::SocketAddress address;
		ProbeResult result;
	};

	struct AddressChange
		/// Something that happened to one address of a name with several (for the log).
	{
		std::string address;
		Change change = Change::NONE;   /// UP or DOWN; NONE with `removed`
		bool removed = false;           /// no longer among the name's addresses
		double latencyMs = 0;           /// when UP
		std::string reason;             /// when DOWN
	};

	static Change update(TargetStatus& status, const std::vector<AddressResult>& results, const std::string& dnsError,
		const Config::Settings& settings, const Poco::Timestamp& now, std::vector<AddressChange>* pChanges = nullptr);
		/// Folds one round into a target: its addresses as resolved now (kept ones keep their
		/// history, new ones start afresh, missing ones are dropped), each address's result, then
		/// the target's own state (fold()). With `dnsError` (the name did not resolve) the
		/// addresses are dropped and the target counts a failed probe with that reason.
		/// `pChanges` receives the per-address changes when the target has several addresses.

	static Change fold(TargetStatus& status, const std::string& previousBest, const Config::Settings& settings,
		const Poco::Timestamp& now, bool round);
		/// Recomputes the target's state from its addresses: the connect order (usable addresses
		/// by latency, the previous best held against noise, then healthy but too slow ones),
		/// and for one address a copy of its record, for several: healthy while one is, the best
		/// one's latency. `round`: a probe round (counts a probe) rather than a passive report.

	static std::vector<std::size_t> orderAddresses(const std::vector<AddressStatus>& addresses,
		std::optional<std::size_t> currentBest, const Config::Settings& settings);
		/// The healthy addresses in the order sessions try them: usable ones ranked as rank()
		/// ranks targets, then healthy ones slower than maxLatency, fastest first.

	static Change apply(ProbeState& status, const ProbeResult& result, const Config::Settings& settings,
		const Poco::Timestamp& now);
		/// Folds one probe result into the target's status; says whether it came up or went down.
		/// A probe that failed for a local reason (ProbeResult::local) changes nothing.

	static Change markFailed(ProbeState& status, const std::string& reason, const Config::Settings& settings,
		const Poco::Timestamp& now);
		/// A failure seen by the forwarding path: the target goes down at once, whatever `fall` says.

	static std::vector<std::size_t> rank(const std::vector<TargetStatus>& targets, std::optional<std::size_t> currentBest,
		const Config::Settings& settings);
		/// Usable targets, best first, with the hysteresis above applied to `currentBest`.

	static bool usable(const ProbeState& status, const Config::Settings& settings);
};

} } // namespace ForwardOptimal::Health
