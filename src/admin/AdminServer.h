#pragma once

#include "admin/AdminView.h"

#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/TCPServer.h"
#include "Poco/ThreadPool.h"

#include <chrono>
#include <functional>
#include <memory>

namespace ForwardOptimal {
namespace Admin {

/// The operator's HTTP endpoint on `adminAddr`: GET / (the live status page, StatusPage),
/// /metrics (Prometheus), /status (JSON), /healthz (the process serves: 200) and /readyz (200
/// while a healthy target exists, else 503); other paths 404, other methods 405, a malformed
/// request 400.
///
/// Built to keep answering while clients misbehave (issue 15.5): a POCO TCPServer accepts and
/// hands each connection to one event loop (poll(2)) that reads request heads without blocking.
/// A slow or idle client costs a descriptor and a buffer, never a thread; each connection gets
/// HEAD_DEADLINE for its whole request head (not per read) and WRITE_DEADLINE for its response,
/// and beyond MAX_CONNECTIONS the oldest waiting connection is closed for the new one. The
/// answers are computed on the loop's thread (an AdminView costs microseconds), so /healthz
/// never waits behind a slow client. No relay thread is ever used. start() and stop() from one
/// thread.
class AdminServer
{
public:
	using ViewProvider = std::function<AdminView()>;

	static constexpr std::chrono::milliseconds HEAD_DEADLINE{5000};
		/// From a connection's accept (or its previous answer, with keep-alive) to the end of
		/// its request head; then it is closed.
	static constexpr std::chrono::milliseconds WRITE_DEADLINE{5000};
		/// For a client to take in one answer.
	static constexpr std::size_t MAX_HEAD_BYTES = 16384;
		/// A longer request head is answered 400.
	static constexpr std::size_t MAX_CONNECTIONS = 512;
		/// Open admin connections; a new one beyond it closes the one waiting longest.

	AdminServer(const Config::Endpoint& address, ViewProvider provider);
		/// Binds now; throws Poco::IOException "cannot listen on ..." like the proxy listener.
	~AdminServer();

	void start();
	void stop();
	Poco::Net::SocketAddress address() const;

private:
	class Connections;

	Poco::ThreadPool _threads;
	Poco::Net::ServerSocket _socket;
	std::unique_ptr<Connections> _pConnections;
	std::unique_ptr<Poco::Net::TCPServer> _pServer;
	bool _started = false;
	bool _stopped = false;
};

} } // namespace ForwardOptimal::Admin
