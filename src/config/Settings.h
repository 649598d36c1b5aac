#pragma once

#include "config/Endpoint.h"
#include "net/Cidr.h"

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

enum class AcceptProxy
{
	NONE,  /// "" : clients connect directly; nothing is parsed
	V1,    /// "v1": a trusted balancer sends a text header
	V2,    /// "v2": a trusted balancer sends a binary header
	ANY    /// "any": either, told apart by the first byte
};

std::string toString(AcceptProxy mode);
	/// "", "v1", "v2" or "any", as written in the config.

/// The PROXY v2 TLVs ForwardOptimal adds to the header it sends (`proxyProtocolTlvs`).
struct ProxyTlvs
{
	bool uniqueId = false;     /// "unique_id": PP2_TYPE_UNIQUE_ID, the session's id
	bool crc32c = false;       /// "crc32c": PP2_TYPE_CRC32C over the header
	bool passthrough = false;  /// "passthrough": ALPN, AUTHORITY and SSL as a trusted balancer sent them

	bool any() const { return uniqueId || crc32c || passthrough; }
	bool operator==(const ProxyTlvs& other) const
	{
		return uniqueId == other.uniqueId && crc32c == other.crc32c && passthrough == other.passthrough;
	}
};

enum class ProbeMode
{
	SYN,     /// "syn": half-open (SYN, SYN-ACK, reset); the server's application sees nothing
	CONNECT  /// "connect": a full TCP connect, the spec's literal behaviour
};

std::string toString(ProbeMode mode);
	/// "syn" or "connect", as written in the config.

/// How the relay moves a direction's bytes (`splice`).
enum class SpliceMode
{
	AUTO,    /// "auto": copy; splice(2) through a pooled pipe while the direction carries bulk
	ALWAYS,  /// "always": splice every byte a pooled pipe is free for (forces the path in tests)
	OFF      /// "off": copy through a user-space buffer only
};

std::string toString(SpliceMode mode);
	/// "auto", "always" or "off", as written in the config.

enum class AccessLogFormat
{
	TEXT,  /// "text": one line of space-separated key=value fields
	JSON   /// "json": one JSON object per line
};

/// Everything the program reads from its configuration, validated. Built once by
/// SettingsLoader and shared as `std::shared_ptr<const Settings>`: nothing else parses keys,
/// and nobody mutates a published value, so any thread may read it without locking.
///
/// Keys, defaults, ranges and units are in one table, SettingsKey::all() (SettingsKey.cpp):
/// a new Settings holds every key's default; the required keys are empty until loaded.
struct Settings
{
	Settings();
		/// Every key at its default (from the SettingsKey table).

	Endpoint bindAddr;                     /// listen address (required)
	std::vector<Endpoint> targets;         /// upstreams, non-empty, no duplicates (required)
	std::chrono::milliseconds updateInterval{0};   /// probe period while a target is up (required)
	std::chrono::milliseconds failureInterval{0};  /// probe period while none is
	ProxyProtocol proxyProtocol = ProxyProtocol::NONE;
	ProxyTlvs proxyProtocolTlvs;           /// v2 TLVs added to the header sent (needs proxyProtocol "v2")
	AcceptProxy acceptProxyProtocol = AcceptProxy::NONE;  /// PROXY header expected from trusted balancers
	std::vector<Net::Cidr> trustedProxies; /// the balancers' addresses (required with acceptProxyProtocol)
	std::chrono::milliseconds proxyHeaderTimeout{0};  /// a trusted balancer's header must arrive within this
	unsigned maxConnections = 0;           /// relay threads, so concurrent client sessions (2 fds each)
	unsigned maxQueued = 0;                /// accepted clients waiting for a thread
	unsigned maxConnectionsPerSource = 0;  /// concurrent sessions of one client address; 0 = no limit

	// Forwarding (see ForwardConnection, Relay, UpstreamPool).
	std::chrono::milliseconds connectTimeout{0};  /// upstream connect timeout
	std::chrono::milliseconds idleTimeout{0};     /// no byte either way for this long ends a session; 0 = never
	std::size_t bufferSize = 0;            /// relay buffer per direction
	SpliceMode splice = SpliceMode::AUTO;  /// copy or splice(2) through a pipe (see Relay)
	unsigned poolSize = 0;                 /// pre-connected idle sockets kept for the best target; 0 = off
	std::chrono::milliseconds poolMaxIdle{0};     /// an idle pooled socket older than this is replaced
	std::chrono::milliseconds poolIdleStop{0};    /// no client for this long stops pre-connecting; 0 = never

	// Health checking and selection (see HealthMonitor and Selector).
	std::chrono::milliseconds probeTimeout{0};   /// TCP connect timeout of a probe
	ProbeMode probeMode = ProbeMode::SYN;  /// how a probe connects
	double switchMarginMs = 0.0;           /// a challenger must be this much faster to take over...
	double switchMarginPercent = 0.0;      /// ...or this share of the best's latency, whichever is larger
	double latencySmoothing = 0.0;         /// EWMA weight of the newest sample (1 = no smoothing)
	double maxLatencyMs = 0.0;             /// slower targets are unfit; 0 = no ceiling
	unsigned rise = 0;                     /// successes in a row before a down target is used again
	unsigned fall = 0;                     /// failures in a row before an up target is dropped

	// Operations.
	bool adminEnabled = false;             /// adminAddr "" turns the admin endpoint off
	Endpoint adminAddr;                    /// / (status page) /metrics /status /healthz /readyz
	bool adminAddrExplicit = false;        /// adminAddr came from the file or -D, not the default:
	                                       /// only then is failing to bind it fatal
	std::chrono::milliseconds drainTimeout{0};   /// on SIGTERM, running sessions get this long to finish
	bool accessLog = false;                /// one line per session on ForwardOptimal.Access
	AccessLogFormat accessLogFormat = AccessLogFormat::TEXT;  /// the access log line's form

	std::string sourceFile;                /// absolute path of the file these came from

	Poco::JSON::Object::Ptr toJson() const;
		/// The effective settings, every key with its value (defaults included), in config-file
		/// form and in the README's order: what `--check` prints.
};

} } // namespace ForwardOptimal::Config
