#pragma once

#include "proxy/Runtime.h"
#include "proxy/SourceLimiter.h"
#include "stats/Counters.h"
#include "stats/RateLimiter.h"

#include "Poco/Logger.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/Net/TCPServerConnection.h"
#include "Poco/Net/TCPServerConnectionFactory.h"

#include <mutex>

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

	Stats::Counters& counters;
	Stats::RateLimiter refusalLog{std::chrono::seconds(10)};
	Stats::RateLimiter failureLog{std::chrono::seconds(10)};
	Stats::RateLimiter sourceLimitLog{std::chrono::seconds(10)};
	SourceLimiter sources;  /// sessions per client address (maxConnectionsPerSource)
	StopSignal stop;    /// triggered by ProxyServer::stop(): running sessions end

private:
	mutable std::mutex _mutex;
	std::shared_ptr<Runtime> _pRuntime;
};

/// One client session, run on a thread of the ProxyServer's pool; the data plane's one
/// exception boundary: nothing thrown here escapes into the pool thread.
///   0. A client whose address already has maxConnectionsPerSource sessions is reset at once
///      and counted; otherwise its session holds a place in that count until it ends.
///   1. No healthy target: the client is closed at once and counted (the service is paused).
///   2. An upstream socket for the best target from the pool; if the target cannot be
///      reached, the health monitor hears of it and the next-best target is tried
///      (at most MAX_ATTEMPTS targets), so a target dying between probes costs the client
///      only a little time.
///   3. The PROXY header, if configured, in one write: the client's address as source, the
///      address the client connected to as destination.
///   4. The Relay, until both directions are done; then counters and a debug line.
class ForwardConnection: public Poco::Net::TCPServerConnection
{
public:
	static constexpr std::size_t MAX_ATTEMPTS = 3;

	ForwardConnection(const Poco::Net::StreamSocket& socket, ConnectionContext& context);
	void run() override;

private:
	static Poco::Logger& logger();
	void serve(Poco::Net::StreamSocket& client);
	void refuse(Poco::Net::StreamSocket& client, std::atomic<std::uint64_t>& counter, Stats::RateLimiter& limiter,
		const std::string& why);

	ConnectionContext& _context;
	Poco::Logger& _logger;
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
