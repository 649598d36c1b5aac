#pragma once

#include "admin/AdminView.h"

#include "Poco/Net/HTTPServer.h"
#include "Poco/ThreadPool.h"

#include <functional>
#include <memory>

namespace ForwardOptimal {
namespace Admin {

/// The operator's HTTP endpoint on `adminAddr`: GET /metrics (Prometheus), /status (JSON),
/// /healthz (the process serves: 200) and /readyz (200 while a healthy target exists, else
/// 503); other paths 404, other methods 405. Runs on its own small thread pool (2 threads, 16
/// queued), so a slow scraper can never take a relay thread. start() and stop() from one thread.
class AdminServer
{
public:
	using ViewProvider = std::function<AdminView()>;

	AdminServer(const Config::Endpoint& address, ViewProvider provider);
		/// Binds now; throws Poco::IOException "cannot listen on ..." like the proxy listener.
	~AdminServer();

	void start();
	void stop();
	Poco::Net::SocketAddress address() const;

private:
	Poco::ThreadPool _threads;
	Poco::Net::ServerSocket _socket;
	std::unique_ptr<Poco::Net::HTTPServer> _pServer;
	bool _stopped = false;
};

} } // namespace ForwardOptimal::Admin
