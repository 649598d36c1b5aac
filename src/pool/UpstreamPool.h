#pragma once

#include "config/Settings.h"
#include "health/HealthMonitor.h"
#include "net/Wakeup.h"
#include "pool/Backoff.h"
#include "pool/ConnectRate.h"
#include "pool/IdleLifetime.h"
#include "pool/IdleSet.h"
#include "pool/IdleStop.h"
#include "pool/Lease.h"
#include "stats/Counters.h"

#include "Poco/Logger.h"
#include "Poco/Message.h"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace ForwardOptimal {
namespace Pool {

/// The pooled-upstream factory. Every session gets its own upstream connection, used once: a
/// TCP stream cannot pass from one client to the next (the upstream would see one stream, and
/// the PROXY header belongs to one client). What the pool saves is the handshake: it keeps up
/// to `poolSize` connections to the current best target open ahead of demand, so a client
/// that arrives takes one that is already established.
///
/// To the server, a pooled connection that expires unused is a client that connected and
/// never logged in (MariaDB counts it towards blocking the proxy's host, sshd logs it), so:
/// - The pool is warm only while clients arrive: it starts cold, and after `poolIdleStop`
///   without a client it closes its sockets and opens nothing (IdleStop); the next client
///   connects directly and warms it. An idle proxy opens no connection at all.
/// - A server that keeps closing silent connections at a fixed age (a login or handshake
///   timeout) is learned (IdleLifetime) and no longer pre-connected to; the lifetime is
///   forgotten after IdleLifetime::FORGET_AFTER and learned again if it still holds.
/// - A server that closes a new connection at once (an error greeting such as MariaDB's
///   "Host … is blocked") refuses: the pool logs what it said, once, and backs off (Backoff);
///   pre-connects to one target never exceed poolSize + 2 a second (ConnectRate).
///
/// A background thread keeps the pool full for the best address of the best target and drains
/// the others (a new best address of the same target is a new best target for the pool). It
/// sleeps until something is due (a socket reaches its age, a backoff ends, the pool goes
/// cold) or an event arrives: a client, a new best target, a pooled socket closed by its
/// peer, stop. acquire() checks a pooled socket without consuming anything: bytes a server
/// sent on accept (an SSH banner) stay in the socket for the client that gets it. poolSize 0
/// turns the pool off: every session connects when it arrives. Thread-safe.
class UpstreamPool
{
public:
	UpstreamPool(std::shared_ptr<const Config::Settings> pSettings, Health::HealthMonitor& monitor, Stats::Counters& counters);
	~UpstreamPool();

	UpstreamPool(const UpstreamPool&) = delete;
	UpstreamPool& operator=(const UpstreamPool&) = delete;

	void start();
		/// Starts the background refill (nothing to do when poolSize is 0). The pool starts
		/// cold: it opens nothing until the first client arrives (that client connects directly).

	void stop();
		/// Stops the refill and closes every idle socket. Idempotent.

	Lease acquire(const Health::TargetStatus& target, const Health::AddressStatus* pAddress = nullptr);
		/// A connected socket to `pAddress` of `target` (default: the target's best address),
		/// from the pool if a live one is there, else connected now within connectTimeout; or why
		/// there is none. Never throws for a network failure.

	std::size_t idleCount(const Config::Endpoint& target) const;
		/// Idle sockets held for `target` now.

	std::optional<std::chrono::milliseconds> learnedLifetime(const Config::Endpoint& target) const;
		/// How long `target` keeps a silent connection open, if the pool has learned it.

	std::chrono::milliseconds maxIdle(const Config::Endpoint& target) const;
		/// The age at which `target`'s pooled sockets are replaced: poolMaxIdle, or half the
		/// learned lifetime if that is shorter.

	std::vector<std::string> preconnectDisabled() const;
		/// The targets (as configured) not pre-connected to because they close silent
		/// connections on their own.

	bool warm() const;
		/// Whether the pool pre-connects now: a client arrived within poolIdleStop.

private:
	using Clock = std::chrono::steady_clock;
	using Notes = std::vector<std::pair<Poco::Message::Priority, std::string>>;

	struct Target
	{
		explicit Target(unsigned perSecond): rate(perSecond) {}

		IdleSet idle;
		IdleLifetime lifetime;
		Backoff backoff;
		ConnectRate rate;
		bool refusing = false;     // refused since it last kept a socket open
		std::string refusalLogged; // what the last logged refusal said
		std::string address;       // the address the idle sockets are connected to
	};

	struct Plan
	{
		std::optional<Health::TargetStatus> connect;  // pre-connect to this now
		Clock::time_point wakeAt;
		std::vector<int> watched;                     // idle sockets: wake when a peer closes one
	};

	void maintain();
	Plan planLocked(const Health::TargetStatus* pBest, Clock::time_point now,
		std::vector<IdleSet::Discarded>& dropped, Notes& notes);
	void preconnect(const Health::TargetStatus& target);
	void wait(const Plan& plan);
	Lease connectNow(const Health::TargetStatus& target, const Health::AddressStatus* pAddress = nullptr) const;
	Target& targetLocked(const std::string& key);
	std::chrono::milliseconds maxIdleLocked(const Target& target, Clock::time_point now) const;
	void learnLocked(const std::string& key, Target& target, const IdleSet::Discarded& discarded,
		Clock::time_point now, Notes& notes);
	void log(const Notes& notes);

	Poco::Logger& _logger;
	std::shared_ptr<const Config::Settings> _pSettings;
	Health::HealthMonitor& _monitor;
	Stats::Counters& _counters;
	std::shared_ptr<Net::Wakeup> _pWakeup;  // shared with the monitor's listener, which may outlive us

	mutable std::mutex _mutex;
	std::map<std::string, Target> _targets;  // by canonical target text
	IdleStop _idleStop;
	bool _wasWarm;
	bool _stopping = false;
	std::thread _thread;
};

} } // namespace ForwardOptimal::Pool
