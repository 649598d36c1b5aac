#include "proxy/ProxyServer.h"

#include "net/AcceptedSocket.h"
#include "net/Listener.h"
#include "proxy/AccessLog.h"
#include "proxy/ForwardConnection.h"
#include "proxy/InboundProxy.h"

#include "Poco/Exception.h"
#include "Poco/Net/TCPServerParams.h"

#include <atomic>
#include <chrono>

#include <sys/socket.h>

namespace ForwardOptimal {
namespace Proxy {

namespace {

constexpr int LISTEN_BACKLOG = 1024;     // the kernel caps it at net.core.somaxconn
// How long an idle TCPServer dispatcher waits for the next client before it hands its thread
// back to the pool. Short, because POCO 1.11's TCPServer::stop() can miss a dispatcher that is
// between two clients; that one then sleeps this long before stop() can join it.
constexpr long DISPATCHER_IDLE_MS = 1000;

} // namespace


// Creates the sessions, and brings the TCPServer's count of clients it had to turn away
// (threads and queue full) into the shared counters as it goes (see syncCounters()).
class ProxyServer::Factory: public ForwardConnectionFactory
{
public:
	Factory(ConnectionContext& context, const ProxyServer& server):
		ForwardConnectionFactory(context),
		_server(server)
	{
	}

	Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override
	{
		// refusedConnections() takes the TCPServer's dispatcher lock, which every accepted and
		// every finished client also takes: copy it at most every OVERLOAD_SYNC, not per client.
		auto now = std::chrono::steady_clock::now().time_since_epoch().count();
		auto last = _lastSync.load(std::memory_order_relaxed);
		if (_server._pServer && now - last >= OVERLOAD_SYNC_TICKS
			&& _lastSync.compare_exchange_strong(last, now, std::memory_order_relaxed))
			_server.syncCounters();
		return ForwardConnectionFactory::createConnection(socket);
	}

private:
	static constexpr std::chrono::steady_clock::rep OVERLOAD_SYNC_TICKS =
		std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::milliseconds(100)).count();

	const ProxyServer& _server;
	std::atomic<std::chrono::steady_clock::rep> _lastSync{0};
};


// Layer-4 admission at accept, as HAProxy's `tcp-request connection` rules: a client whose
// address already has maxConnectionsPerSource connections (running or queued) is reset here,
// on the accept thread, before it takes a queue slot or a relay thread. An admitted client's
// place in the count rides on its socket (Net::AcceptedSocketImpl) until its session takes it
// over, or, if the TCPServer drops it unrun, until the socket goes.
class ProxyServer::SourceFilter: public Poco::Net::TCPServerConnectionFilter
{
public:
	explicit SourceFilter(ConnectionContext& context):
		_context(context)
	{
	}

	bool accept(const Poco::Net::StreamSocket& socket) override
	{
		Net::AcceptedSocketImpl* pImpl = Net::AcceptedSocketImpl::of(socket);
		if (!pImpl)
			return true; // not accepted by a Listener: nothing to carry a lease (never so here)
		// The limit of the settings in force now: a reload applies to the next client.
		std::shared_ptr<Runtime> pRuntime = _context.runtime();
		const Config::Settings& settings = pRuntime->settings();
		// A trusted balancer is not limited by its own address: its session counts the
		// client its PROXY header names (ForwardConnection::readInboundHeader).
		// The address accept() returned, not getpeername(): a balancer's check that sends its
		// LOCAL header and resets at once has no peer name any more by now.
		const std::optional<Net::MappedAddress>& source = pImpl->source();
		if (source && InboundProxy::trusted(settings, *source))
		{
			pImpl->markBalancer();
			return true;
		}
		unsigned limit = settings.maxConnectionsPerSource;
		Net::SourceLimiter::Lease lease = source ? _context.sources.acquire(*source, limit) : Net::SourceLimiter::Lease();
		if (!lease)
		{
			Poco::Net::StreamSocket client(socket); // shares the descriptor: the reset closes it
			AccessLog::refusedAtAccept(pRuntime->settings(), client, Stats::Refusal::PER_SOURCE);
			_context.refuse(client, Stats::Refusal::PER_SOURCE);
			return false;
		}
		pImpl->hold(std::move(lease));
		return true;
	}

private:
	ConnectionContext& _context;
};


ProxyServer::ProxyServer(const Config::Settings& settings, ConnectionContext& context, int threadIdleSeconds):
	_context(context),
	_threads("fo-relay", 2, static_cast<int>(settings.maxConnections), threadIdleSeconds, THREAD_STACK_SIZE),
	_socket(Net::Listener::listen(settings.bindAddr, LISTEN_BACKLOG)),
	_collector(_threads, threadIdleSeconds)
{
	Poco::Net::TCPServerParams::Ptr pParams = new Poco::Net::TCPServerParams;
	pParams->setMaxThreads(static_cast<int>(settings.maxConnections));
	pParams->setMaxQueued(static_cast<int>(settings.maxQueued));
	pParams->setThreadIdleTime(Poco::Timespan(DISPATCHER_IDLE_MS * 1000));
	_pServer = std::make_unique<Poco::Net::TCPServer>(new Factory(context, *this), _threads, _socket, pParams);
	_pServer->setConnectionFilter(new SourceFilter(context));
}


ProxyServer::~ProxyServer()
{
	try
	{
		stop();
	}
	catch (...)
	{
		poco_unexpected();
	}
}


void ProxyServer::start()
{
	_pServer->start();
}


void ProxyServer::stopAccepting()
{
	if (!_accepting)
		return;
	_accepting = false;
	// Refuse from this instant: shutdown() takes a listening socket out of LISTEN (new connects
	// are refused, the backlog is reset) and wakes the accept thread's poll, which POCO 1.11's
	// TCPServer::run() otherwise sleeps in for up to 250 ms while stop() waits to join it; a
	// client accepted meanwhile was still served. accept() now fails, and the loop ends.
	::shutdown(_socket.impl()->sockfd(), SHUT_RDWR);
	_pServer->stop();    // joins the accept thread; queued, not yet started clients are closed
	_socket.close();     // the TCPServer shares this socket: nothing waits in the backlog any more
	syncCounters();
}


void ProxyServer::stop()
{
	if (_stopped)
		return;
	_stopped = true;
	stopAccepting();
	_context.stop.trigger();
	_threads.joinAll();
}


void ProxyServer::syncCounters() const
{
	if (_pServer)
		_context.counters.refusedOverload = static_cast<std::uint64_t>(_pServer->refusedConnections());
}


Poco::Net::SocketAddress ProxyServer::address() const
{
	return _socket.address();
}

} } // namespace ForwardOptimal::Proxy
