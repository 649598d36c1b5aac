#pragma once

#include "config/Endpoint.h"
#include "health/HealthHistory.h"
#include "health/LatencyHistogram.h"

#include "Poco/Net/SocketAddress.h"
#include "Poco/Timestamp.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ForwardOptimal {
namespace Health {

/// The health and latency record shared by a target and each of its addresses: what the
/// Selector's rules (smoothing, rise/fall, hysteresis) work on.
struct ProbeState
{
	bool probed = false;               /// at least one probe has finished
	bool healthy = false;
	double lastLatencyMs = -1;         /// latest successful probe; -1 = none yet
	double smoothedLatencyMs = -1;     /// EWMA of successful probes since it last came up
	std::string lastError;             /// reason of the latest failure
	Poco::Timestamp lastChange;        /// when `healthy` last flipped (or the first probe)
	unsigned consecutiveFailures = 0;
	unsigned consecutiveSuccesses = 0;
	std::uint64_t probes = 0;          /// probes finished
	LatencyHistogram latencies;        /// of the successful ones
};

/// One address of a target: the target itself when it is a literal, else one of the A/AAAA
/// records its name resolved to.
struct AddressStatus: ProbeState
{
	Poco::Net::SocketAddress address;
	std::string text;                  /// address.toString(), e.g. "198.18.0.1:22", "[2001:db8::1]:22"
};

/// What is known about one target after the latest probes. For a name, the target's own
/// ProbeState is folded from its addresses (Selector::fold): healthy while one of them is, the
/// latency of its best one; for a single address it is that address's record.
struct TargetStatus: ProbeState
{
	Config::Endpoint target;
	std::string address;                   /// the best address's text ("" before the first resolution)
	std::vector<AddressStatus> addresses;  /// as the name resolved last (one for a literal)
	std::vector<std::size_t> addressOrder; /// indexes into `addresses` to connect to, best first
	std::string dnsError;                  /// "DNS: ..." while the name does not resolve

	const AddressStatus* bestAddress() const
		/// The address sessions connect to first; null while none is healthy.
	{
		return addressOrder.empty() ? nullptr : &addresses[addressOrder.front()];
	}
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
