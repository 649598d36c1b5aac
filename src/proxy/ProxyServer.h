#pragma once

#include "config/Settings.h"
#include "proxy/ForwardConnection.h"
#include "proxy/IdleThreadCollector.h"

#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/SocketAddress.h"
#include "Poco/Net/TCPServer.h"
#include "Poco/ThreadPool.h"

#include <memory>

namespace ForwardOptimal {
namespace Proxy {

/// The listening side: the bound ServerSocket, a ThreadPool of its own (bounded by
/// `maxConnections`, so the Poco timer and other users of the default pool never compete with
/// client sessions) and the TCPServer that dispatches accepted clients to it, queueing at most
/// `maxQueued`; beyond that a client is closed at once and counted by the TCPServer. Before
/// any of that, a filter on the accept thread resets a client whose address is at its
/// `maxConnectionsPerSource` limit, so it never takes a queue slot or a thread.
/// Not copyable. start() and stop() are called from the application's main thread.
class ProxyServer
{
public:
	static constexpr int THREAD_STACK_SIZE = 256 * 1024;
		/// Relay threads keep their buffers on the heap; 256 KiB of stack is ample and keeps
		/// thousands of threads cheap in address space.

	static constexpr int THREAD_IDLE_SECONDS = 60;
		/// Relay threads above the pool's minimum exit after this long without a session
		/// (IdleThreadCollector makes it so while no client arrives).

	ProxyServer(const Config::Settings& settings, ConnectionContext& context,
		int threadIdleSeconds = THREAD_IDLE_SECONDS);
		/// Binds and listens on settings.bindAddr. Throws Poco::IOException naming the
		/// address and the reason (port in use, permission denied, unknown host).
		/// `context` must outlive the server. `threadIdleSeconds` is for tests.

	~ProxyServer();

	ProxyServer(const ProxyServer&) = delete;
	ProxyServer& operator=(const ProxyServer&) = delete;

	void start();
		/// Starts accepting clients.

	void stopAccepting();
		/// Stops accepting and closes the listening socket; running sessions go on (drain).
		/// Clients accepted but still queued are closed. Idempotent.

	void stop();
		/// stopAccepting(), then ends the running sessions and waits for their threads.
		/// Idempotent.

	Poco::Net::SocketAddress address() const;
		/// The address actually bound (the real port when bindAddr asked for port 0).

	void syncCounters() const;
		/// Copies the TCPServer's count of clients it turned away (threads and queue full) into
		/// the shared counters' refusedOverload. Accepting does so at most every 100 ms (the
		/// TCPServer's lock is on every client's path); readers that need the exact figure
		/// (metrics, status) call this first. Thread-safe.

	const Poco::Net::TCPServer& server() const { return *_pServer; }
		/// Connection counters of the TCPServer (current, total, queued, refused).

private:
	class Factory;
	class SourceFilter;

	ConnectionContext& _context;
	Poco::ThreadPool _threads;
	Poco::Net::ServerSocket _socket;
	std::unique_ptr<Poco::Net::TCPServer> _pServer;
	bool _accepting = true;
	bool _stopped = false;
	IdleThreadCollector _collector;  // last: stops before anything it collects goes
};

} } // namespace ForwardOptimal::Proxy
