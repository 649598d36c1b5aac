#pragma once

#include "health/HealthMonitor.h"
#include "stats/Counters.h"
#include "stats/RateLimiter.h"

#include "Poco/Logger.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/Net/TCPServerConnection.h"
#include "Poco/Net/TCPServerConnectionFactory.h"

namespace ForwardOptimal {
namespace Proxy {

/// What every connection needs from the rest of the process; owned by ProxyServer's owner,
/// outlives all connections.
struct ConnectionContext
{
	Health::HealthMonitor& monitor;
	Stats::Counters& counters;
	Stats::RateLimiter refusalLog{std::chrono::seconds(10)};
};

/// One client session, run on a thread of the ProxyServer's pool. This is the data plane's one
/// exception boundary: nothing thrown here may escape into the pool thread.
/// While no target is healthy the client is closed at once and counted (the service is paused).
/// The relay to the best target arrives with the forwarding issue; until then a client is
/// accepted and closed straight away, which exercises the accept, dispatch and shutdown paths.
class ForwardConnection: public Poco::Net::TCPServerConnection
{
public:
	ForwardConnection(const Poco::Net::StreamSocket& socket, ConnectionContext& context);
	void run() override;

private:
	void refuseWhilePaused(Poco::Net::StreamSocket& client);

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
