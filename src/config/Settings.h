#pragma once

#include "config/Endpoint.h"

#include "Poco/JSON/Object.h"

#include <chrono>
#include <string>
#include <vector>

namespace ForwardOptimal {
namespace Config {

enum class ProxyProtocol
{
	NONE,  /// "" : plain TCP
	V1,    /// "v1": text header
	V2     /// "v2": binary header
};

std::string toString(ProxyProtocol version);
	/// "", "v1" or "v2", as written in the config.

/// Everything the program reads from its configuration, validated. Built once by
/// SettingsLoader and shared as `std::shared_ptr<const Settings>`: nothing else parses keys,
/// and nobody mutates a published value, so any thread may read it without locking.
struct Settings
{
	Endpoint bindAddr;                     /// listen address (required)
	std::vector<Endpoint> targets;         /// upstreams, non-empty, no duplicates (required)
	std::chrono::milliseconds updateInterval{0};           /// probe period while a target is up (required)
	std::chrono::milliseconds failureInterval{5000};       /// probe period while none is
	ProxyProtocol proxyProtocol = ProxyProtocol::NONE;
	unsigned maxConnections = 4096;        /// relay threads, so concurrent client sessions (2 fds each)
	unsigned maxQueued = 256;              /// accepted clients waiting for a thread
	unsigned maxConnectionsPerSource = 256; /// concurrent sessions of one client address; 0 = no limit

	// Forwarding (see ForwardConnection, Relay, UpstreamPool).
	std::chrono::milliseconds connectTimeout{5000};  /// upstream connect timeout
	std::chrono::milliseconds idleTimeout{30000};    /// no byte either way for this long ends a session; 0 = never
	std::size_t bufferSize = 32 * 1024;    /// relay buffer per direction
	unsigned poolSize = 2;                 /// pre-connected idle sockets kept for the best target; 0 = off
	std::chrono::milliseconds poolMaxIdle{10000};    /// an idle pooled socket older than this is replaced
	std::chrono::milliseconds poolIdleStop{120000};  /// no client for this long: the pool closes its sockets and stops refilling; 0 = never

	// Health checking and selection (see HealthMonitor and Selector).
	std::chrono::milliseconds probeTimeout{5000};   /// TCP connect timeout of a probe
	double switchMarginMs = 5.0;           /// a challenger must be this much faster to take over...
	double switchMarginPercent = 10.0;     /// ...or this share of the best's latency, whichever is larger
	double latencySmoothing = 0.5;         /// EWMA weight of the newest sample (1 = no smoothing)
	double maxLatencyMs = 0.0;             /// slower targets are unfit; 0 = no ceiling
	unsigned rise = 1;                     /// successes in a row before a down target is used again
	unsigned fall = 1;                     /// failures in a row before an up target is dropped

	// Operations.
	bool adminEnabled = true;              /// adminAddr "" turns the admin endpoint off
	Endpoint adminAddr = Endpoint::parseListen("127.0.0.1:9090");   /// /metrics /status /healthz /readyz
	std::chrono::milliseconds drainTimeout{10000};   /// on SIGTERM, running sessions get this long to finish

	std::string sourceFile;                /// absolute path of the file these came from

	Poco::JSON::Object::Ptr toJson() const;
		/// The effective settings, every key with its value (defaults included), in config-file
		/// form: what `--check` prints.
};

} } // namespace ForwardOptimal::Config
