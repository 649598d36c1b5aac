#pragma once

#include "config/Settings.h"
#include "health/HealthMonitor.h"
#include "pool/IdleLifetime.h"
#include "stats/Counters.h"

#include "Poco/Logger.h"
#include "Poco/Net/StreamSocket.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace ForwardOptimal {
namespace Pool {

/// The pooled-upstream factory. Every session gets its own upstream connection, used once: a
/// TCP stream cannot pass from one client to the next (the upstream would see one stream, and
/// the PROXY header belongs to one client). What the pool saves is the handshake: it keeps up
/// to `poolSize` connections to the current best target open ahead of demand, so a client
/// that arrives takes one that is already established.
///
/// - A background thread keeps the pool full for the best target, drains the sockets of any
///   other target (the best changed or went down), and replaces sockets older than
///   `poolMaxIdle` (receivers of the PROXY header, and servers such as OpenSSH with its
///   LoginGraceTime, drop connections that stay silent). When a server keeps closing idle
///   connections at a fixed age before that, the pool learns the age (IdleLifetime) and
///   replaces its connections at half of it.
/// - acquire() checks a pooled socket without consuming anything: peer closed, an error
///   pending, or closed after sending a banner: discarded, and the next one is tried. Bytes a
///   server sent on accept (an SSH banner) stay in the socket for the client that gets it.
/// - poolSize 0 turns it off: every session connects when it arrives.
/// Thread-safe.
class UpstreamPool
{
public:
	UpstreamPool(std::shared_ptr<const Config::Settings> pSettings, Health::HealthMonitor& monitor, Stats::Counters& counters);
	~UpstreamPool();

	UpstreamPool(const UpstreamPool&) = delete;
	UpstreamPool& operator=(const UpstreamPool&) = delete;

	void start();
		/// Starts the background refill (nothing to do when poolSize is 0).

	void stop();
		/// Stops the refill and closes every idle socket. Idempotent.

	Poco::Net::StreamSocket acquire(const Health::TargetStatus& target, bool& fromPool);
		/// A connected socket to `target`, from the pool if a live one is there, else connected
		/// now within connectTimeout. Throws Poco::Exception when the target cannot be reached.

	std::size_t idleCount(const Config::Endpoint& target) const;
		/// Idle sockets held for `target` now.

	std::optional<std::chrono::milliseconds> learnedLifetime(const Config::Endpoint& target) const;
		/// How long `target` keeps a silent connection open, if the pool has learned it.

	std::chrono::milliseconds maxIdle(const Config::Endpoint& target) const;
		/// The age at which `target`'s pooled sockets are replaced: poolMaxIdle, or half the
		/// learned lifetime if that is shorter.

	static bool isAlive(int fd);
		/// A non-consuming check of an idle connection: false if the peer closed (even after
		/// sending data) or an error is pending.

	static void tune(Poco::Net::StreamSocket& socket);
		/// TCP_NODELAY and keepalive, for every relayed socket.

private:
	struct Idle
	{
		Poco::Net::StreamSocket socket;
		std::chrono::steady_clock::time_point since;
	};

	enum class Check { FRESH, TOO_OLD, CLOSED };

	Poco::Net::StreamSocket connect(const Health::TargetStatus& target) const;
	void maintain();
	static std::chrono::milliseconds ageOf(const Idle& idle, std::chrono::steady_clock::time_point now);
	static Check check(const Idle& idle, std::chrono::milliseconds maxIdle, std::chrono::steady_clock::time_point now);
	std::chrono::milliseconds maxIdle(const std::string& target, std::chrono::steady_clock::time_point now) const;
	void closedByPeer(const std::string& target, std::chrono::milliseconds age, std::chrono::steady_clock::time_point now);

	Poco::Logger& _logger;
	std::shared_ptr<const Config::Settings> _pSettings;
	Health::HealthMonitor& _monitor;
	Stats::Counters& _counters;

	mutable std::mutex _mutex;
	std::condition_variable _wake;
	std::map<std::string, std::deque<Idle>> _idle;   // by canonical target text
	std::map<std::string, IdleLifetime> _lifetimes;  // by canonical target text
	bool _stopping = false;
	std::thread _thread;
};

} } // namespace ForwardOptimal::Pool
