#pragma once

#include <atomic>
#include <cstdint>

namespace ForwardOptimal {
namespace Stats {

/// Process-wide counters, in one place: the data path increments them, the health report and
/// the admin endpoints (/metrics, /status) read them. The refusal counters are named, with
/// their log text and metric label, in stats/Refusal.h. Lock-free; safe from any thread.
struct Counters
{
	std::atomic<std::uint64_t> accepted{0};          /// clients handed to a connection thread
	std::atomic<std::uint64_t> refusedNoTarget{0};   /// closed at once: no healthy target
	std::atomic<std::uint64_t> refusedNoUpstream{0}; /// closed: no target could be connected
	std::atomic<std::uint64_t> refusedNoResources{0}; /// closed: this process was out of descriptors or
	                                                 /// memory for the upstream socket
	std::atomic<std::uint64_t> refusedPerSource{0};  /// reset at once: its address had maxConnectionsPerSource sessions
	std::atomic<std::uint64_t> refusedOverload{0};   /// closed by the TCPServer: threads and queue full
	                                                 /// (copied from it: ProxyServer::syncCounters())
	std::atomic<std::uint64_t> refusedProxyHeaderMissing{0}; /// reset: a trusted balancer sent no PROXY header
	std::atomic<std::uint64_t> refusedProxyHeaderInvalid{0}; /// reset: ... a header that breaks the spec
	std::atomic<std::uint64_t> refusedProxyHeaderTimeout{0}; /// reset: ... no whole header within proxyHeaderTimeout
	std::atomic<std::uint64_t> proxyLocal{0};        /// closed quietly: a balancer's LOCAL header (health check)
	std::atomic<std::uint64_t> upstreamFailures{0};  /// upstream connects that failed
	std::atomic<std::uint64_t> failovers{0};         /// sessions served by a later target after a failure
	std::atomic<std::uint64_t> poolHits{0};          /// sessions that got a pre-connected socket
	std::atomic<std::uint64_t> poolMisses{0};        /// sessions that had to connect
	std::atomic<std::uint64_t> poolDiscarded{0};     /// pooled sockets found dead or too old
	std::atomic<std::uint64_t> poolPreconnects{0};   /// connects the pool started ahead of demand
	std::atomic<std::uint64_t> poolRefusals{0};      /// pooled sockets the target closed at once (an error greeting)
	std::atomic<std::uint64_t> spliceFallbacks{0};   /// relay directions that wanted a pipe and found none free
	std::atomic<std::int64_t> activeSessions{0};     /// sessions relaying now
	std::atomic<std::uint64_t> completedSessions{0}; /// sessions that ended, however
	std::atomic<std::uint64_t> bytesClientToUpstream{0};
	std::atomic<std::uint64_t> bytesUpstreamToClient{0};
};

} } // namespace ForwardOptimal::Stats
