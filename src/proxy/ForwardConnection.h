#pragma once

#include "net/SourceLimiter.h"
#include "proxy/PipePool.h"
#include "proxy/AccessLog.h"
#include "proxyprotocol/ProxyHeader.h"
#include "proxy/Runtime.h"
#include "stats/Counters.h"
#include "stats/LogThrottle.h"
#include "stats/Refusal.h"

#include "Poco/Logger.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/Net/TCPServerConnection.h"
#include "Poco/Net/TCPServerConnectionFactory.h"

#include <array>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ForwardOptimal {
namespace Proxy {

/// A one-way latch that running sessions can poll(): readable once triggered. Thread-safe.
class StopSignal
{
public:
	StopSignal();
	~StopSignal();
	StopSignal(const StopSignal&) = delete;
	StopSignal& operator=(const StopSignal&) = delete;
	int fd() const { return _pipe[0]; }
	void trigger();

private:
	int _pipe[2];
};

/// What every connection needs from the rest of the process; owned by ProxyServer's owner,
/// outlives all connections. The Runtime can be replaced (reload) while sessions run: each
/// session takes the current one when it starts and keeps it. Thread-safe.
class ConnectionContext
{
public:
	ConnectionContext(std::shared_ptr<Runtime> pRuntime, Stats::Counters& counters_):
		counters(counters_),
		// sized from the first runtime's settings (pRuntime is moved below, after this)
		pipes(PipePool::capacityFor(pRuntime->settings()), PipePool::MAX_IDLE, counters_.spliceFallbacks),
		_pRuntime(std::move(pRuntime))
	{
	}

	std::shared_ptr<Runtime> runtime() const
	{
		std::lock_guard<std::mutex> lock(_mutex);
		return _pRuntime;
	}

	std::shared_ptr<Runtime> replace(std::shared_ptr<Runtime> pRuntime)
		/// Swaps in a new runtime for the sessions that start from now on; returns the old one.
	{
		std::lock_guard<std::mutex> lock(_mutex);
		std::swap(_pRuntime, pRuntime);
		return pRuntime;
	}

	void refuse(Poco::Net::StreamSocket& client, Stats::Refusal reason, const std::string& detail = std::string(),
		const std::string& who = std::string());
		/// Lets a client go at once, with a reset so it learns at once that nothing is there:
		/// counts it under `reason` and logs it (at most once per 10 s per reason, and nothing
		/// is built for a line that is not written). Called by the sessions and by the accept
		/// filter; thread-safe. `detail` is added to the line; `who` names the client when its
		/// address is not the socket's peer (a trusted balancer's client). PROXY_LOCAL (no log
		/// text) is closed with a FIN: a health check, not an error.

	Stats::Counters& counters;
	Net::SourceLimiter sources;  /// connections per client address (maxConnectionsPerSource)
	StopSignal stop;    /// triggered by ProxyServer::stop(): running sessions end
	PipePool pipes;     /// the relay's splice pipes, sized at start from RLIMIT_NOFILE (capacityFor)

private:
	static constexpr std::chrono::seconds REFUSAL_LOG_PERIOD{10};

	mutable std::mutex _mutex;
	std::shared_ptr<Runtime> _pRuntime;
	std::array<Stats::LogThrottle, Stats::REFUSALS.size()> _refusalLogs = refusalLogs(std::make_index_sequence<Stats::REFUSALS.size()>());
		// one per reason

	template <std::size_t... I>
	static std::array<Stats::LogThrottle, sizeof...(I)> refusalLogs(std::index_sequence<I...>)
	{
		return {{(static_cast<void>(I), Stats::LogThrottle(REFUSAL_LOG_PERIOD))...}};
	}
};

/// One client session, run on a thread of the ProxyServer's pool; the data plane's one
/// exception boundary: nothing thrown here escapes into the pool thread.
///   0. (Before: ProxyServer's accept filter has reset a client whose address already had
///      maxConnectionsPerSource connections.) The session holds the client's place in that
///      count, taken at accept, until it ends. A trusted load balancer took no place there.
///      readInboundHeader(): from a trusted balancer (acceptProxyProtocol, trustedProxies),
///      the PROXY header, mandatory, read before anything else; its source becomes the
///      session's client address (header sent upstream, per-source limit, logs), counted
///      against maxConnectionsPerSource now. A missing or bad header is refused, a LOCAL one
///      closed quietly: no upstream is opened for either.
///   1. No healthy target: the client is closed at once and counted (the service is paused).
///   2. connectUpstream(): an upstream socket for the best target from the pool; if the target's
///      best address cannot be reached, the health monitor hears of it and the target's
///      next-best address is tried, then the next-best target
///      (at most MAX_ATTEMPTS targets), so a target dying between probes costs the client
///      only a little time.
///   3. writeHeader(): the PROXY header, if configured, in one write: the session's client
///      address as source, the address the client connected to as destination, and the v2
///      TLVs of proxyProtocolTlvs (at most 536 bytes: optional TLVs are dropped, and logged).
///   4. relay(): the Relay, until both directions are done; then counters and a debug line.
/// Every refusal goes through ConnectionContext::refuse() with a Stats::Refusal. With
/// `accessLog` on, the session's SessionRecord is written as one access log line when it ends.
class ForwardConnection: public Poco::Net::TCPServerConnection
{
public:
	static constexpr std::size_t MAX_ATTEMPTS = 3;

	ForwardConnection(const Poco::Net::StreamSocket& socket, ConnectionContext& context);
		/// Takes over the client's per-source lease from its socket (Net::AcceptedSocketImpl).

	void run() override;

	static Poco::Logger& logger();
		/// "ForwardOptimal.Proxy.Connection": sessions and refusals log here.

	const std::string& uniqueId();
		/// The session's id: the UNIQUE_ID a trusted balancer sent (so one session can be
		/// followed across hops), else 32 hex digits made on first use (newUniqueId). Sent as
		/// the v2 UNIQUE_ID TLV with proxyProtocolTlvs "unique_id"; in the access log and the
		/// session's debug line. A session that none of these needs never makes one.

	const Poco::Net::SocketAddress& clientAddress();
		/// The session's client: the source of a trusted balancer's PROXY header, else the
		/// socket's peer (read on first use; throws if the client is already gone).

	static std::string newUniqueId();
		// Unique in this process (a counter through a 64-bit bijection) and across processes
		// (keyed by 128 random bits drawn once). No per-thread generator: a thread_local
		// std::mt19937_64 is 2.5 KiB of static TLS in every relay thread's stack pages.
		/// 32 random hex digits (128 bits), per-thread generator seeded from the system.

private:
	/// A socket to one of the targets, or the reason there is none.
	struct Upstream
	{
		Poco::Net::StreamSocket socket;
		const Health::TargetStatus* pTarget = nullptr;  /// null: no target could be used
		bool pooled = false;                            /// the socket was pre-connected
		Stats::Refusal failure = Stats::Refusal::NO_UPSTREAM;  /// why, when pTarget is null
	};

	void serve(Poco::Net::StreamSocket& client);
	Upstream connectUpstream(Runtime& runtime, const Health::HealthSnapshot& route);
	std::optional<Stats::Refusal> acquire(Runtime& runtime, const Health::TargetStatus& target, Upstream& upstream);
	bool readInboundHeader(const Config::Settings& settings, Poco::Net::StreamSocket& client);
	void writeHeader(const Config::Settings& settings, Poco::Net::StreamSocket& upstream);
	std::string header(const Config::Settings& settings);
	void relay(const Config::Settings& settings, Poco::Net::StreamSocket& client, Upstream& upstream,
		std::chrono::steady_clock::time_point started);
	void refuse(Poco::Net::StreamSocket& client, Stats::Refusal reason, const std::string& detail = std::string(),
		const std::string& who = std::string());
		/// Records the refusal for the access log, then ConnectionContext::refuse().
	void noteUpstream(const Upstream& upstream);

	ConnectionContext& _context;
	Poco::Logger& _logger;
	Net::SourceLimiter::Lease _lease;  // this client's place in its address's count
	SessionRecord _record;             // what the access log will say about this session
	std::optional<Config::AccessLogFormat> _accessLog;  // set: write _record when the session ends
	bool _fromBalancer = false;        // the accept filter found a trusted balancer
	// The session's view of its client (readInboundHeader): the header's endpoints when a
	// trusted balancer sent them, else the socket's.
	std::optional<Poco::Net::SocketAddress> _clientAddress;  // set with _addressesKnown (a SocketAddress
	std::optional<Poco::Net::SocketAddress> _localAddress;   // allocates even when default-made)
	bool _addressesKnown = false;
	std::vector<ProxyProtocol::Tlv> _receivedTlvs;
	std::string _uniqueId;
};


/// Creates a ForwardConnection for each accepted client. Owned by the TCPServer; thread-safe.
class ForwardConnectionFactory: public Poco::Net::TCPServerConnectionFactory
{
public:
	explicit ForwardConnectionFactory(ConnectionContext& context);
	Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override;

private:
	ConnectionContext& _context;
};

} } // namespace ForwardOptimal::Proxy
