#include "proxy/ProxyServer.h"

#include "net/Listener.h"
#include "proxy/ForwardConnection.h"

#include "Poco/Exception.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/TCPServerParams.h"

namespace ForwardOptimal {
namespace Proxy {

namespace {

constexpr int LISTEN_BACKLOG = 1024;     // the kernel caps it at net.core.somaxconn
constexpr int THREAD_IDLE_SECONDS = 60;  // idle pool threads above the minimum exit after this
// How long an idle TCPServer dispatcher waits for the next client before it hands its thread
// back to the pool. Short, because POCO 1.11's TCPServer::stop() can miss a dispatcher that is
// between two clients; that one then sleeps this long before stop() can join it.
constexpr long DISPATCHER_IDLE_MS = 1000;

} // namespace


// Creates the sessions, and brings the TCPServer's count of clients it had to turn away
// (threads and queue full) into the shared counters as it goes.
class ProxyServer::Factory: public ForwardConnectionFactory
{
public:
	Factory(ConnectionContext& context, const ProxyServer& server):
		ForwardConnectionFactory(context),
		_context(context),
		_server(server)
	{
	}

	Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override
	{
		if (_server._pServer)
			_context.counters.refusedOverload = static_cast<std::uint64_t>(_server._pServer->refusedConnections());
		return ForwardConnectionFactory::createConnection(socket);
	}

private:
	ConnectionContext& _context;
	const ProxyServer& _server;
};


ProxyServer::ProxyServer(const Config::Settings& settings, ConnectionContext& context):
	_context(context),
	_threads("fo-relay", 2, static_cast<int>(settings.maxConnections), THREAD_IDLE_SECONDS, THREAD_STACK_SIZE),
	_socket(Net::Listener::listen(settings.bindAddr, LISTEN_BACKLOG))
{
	Poco::Net::TCPServerParams::Ptr pParams = new Poco::Net::TCPServerParams;
	pParams->setMaxThreads(static_cast<int>(settings.maxConnections));
	pParams->setMaxQueued(static_cast<int>(settings.maxQueued));
	pParams->setThreadIdleTime(Poco::Timespan(DISPATCHER_IDLE_MS * 1000));
	_pServer = std::make_unique<Poco::Net::TCPServer>(new Factory(context, *this), _threads, _socket, pParams);
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
	_pServer->stop();    // joins the accept thread; queued, not yet started clients are closed
	_socket.close();     // the TCPServer shares this socket: nothing waits in the backlog any more
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


Poco::Net::SocketAddress ProxyServer::address() const
{
	return _socket.address();
}

} } // namespace ForwardOptimal::Proxy
