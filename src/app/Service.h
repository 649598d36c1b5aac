#pragma once

#include "admin/AdminView.h"
#include "config/Settings.h"
#include "proxy/ForwardConnection.h"
#include "stats/Counters.h"

#include "Poco/Exception.h"
#include "Poco/Net/SocketAddress.h"
#include "Poco/Timestamp.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace ForwardOptimal {
namespace Admin { class AdminServer; }
namespace Proxy { class ProxyServer; class Runtime; }
namespace App {

POCO_DECLARE_EXCEPTION(, AdminListenException, Poco::IOException)
	/// The admin endpoint could not bind adminAddr (the proxy listener could: its own failure
	/// is the plain Poco::IOException of ProxyServer).

/// ForwardOptimal's serving parts, wired once, for the application and the tests alike: the
/// counters, the connection context around the current Runtime (settings, prober, health
/// monitor, upstream pool), the ProxyServer on bindAddr and, unless adminAddr is "", the
/// AdminServer whose pages show view().
///
/// Life cycle: the constructor binds both listeners (nothing runs yet); start() runs the first
/// health round and starts accepting; reload() swaps in a new Runtime; stopAccepting() and
/// drain() begin a graceful stop; stop() ends the sessions left and everything else. start(),
/// reload(), drain() and stop() are for one thread (the application's main thread); view(),
/// the accessors and the counters are thread-safe.
class Service
{
public:
	explicit Service(std::shared_ptr<const Config::Settings> pSettings);
		/// Binds bindAddr and adminAddr. Throws Poco::IOException when bindAddr cannot be
		/// bound and AdminListenException when an explicitly set adminAddr cannot (exit code 69
		/// for both). When adminAddr is only the default and cannot be bound (another instance
		/// has it), the service runs without the admin endpoint: see adminUnavailable().

	~Service();
		/// stop().

	Service(const Service&) = delete;
	Service& operator=(const Service&) = delete;

	void start();
		/// The first health round runs now (so the first clients already have a route), then
		/// the proxy and the admin endpoint accept.

	void reload(std::shared_ptr<const Config::Settings> pNext);
		/// Builds and starts a Runtime for `pNext` (its first round runs before any client sees
		/// it), hands new sessions to it, and stops the old one; sessions that hold the old one
		/// finish with it. The listeners keep the addresses and bounds they were built with:
		/// the application tells the operator which changed keys need a restart.

	void stopAccepting();
		/// Closes the listener (new clients are refused; queued ones are closed); running
		/// sessions go on. Idempotent.

	std::int64_t drain(std::chrono::milliseconds timeout,
		const std::function<bool(std::chrono::milliseconds)>& wait = {});
		/// stopAccepting(), then waits until no session is active or `timeout` has passed, in
		/// steps of at most 100 ms. Each step is `wait(step)`, which may end the drain early by
		/// returning true (the application waits for a second signal there); by default the
		/// step is a sleep. Returns the sessions still active: stop() ends them.

	void stop();
		/// Ends the sessions left and waits for their threads, stops the admin endpoint, then
		/// stops probing and empties the pool. Idempotent.

	Admin::AdminView view() const;
		/// What the admin pages show now: the current snapshot, settings and counters, the best
		/// target's pool, the start time.

	std::shared_ptr<Proxy::Runtime> runtime() const;
		/// The current runtime (replaced by reload()).
	std::shared_ptr<const Config::Settings> settings() const;
		/// The current runtime's settings (replaced by reload()).
	Stats::Counters& counters() { return _counters; }
	const Stats::Counters& counters() const { return _counters; }
		/// The process's counters, shared by every runtime a reload brings.
	std::int64_t activeSessions() const { return _counters.activeSessions; }
		/// Sessions relaying now.
	Proxy::ProxyServer& proxy() { return *_pProxy; }
	const Proxy::ProxyServer& proxy() const { return *_pProxy; }
		/// The listener, its thread pool and TCPServer (for their connection counters).
	Poco::Net::SocketAddress proxyAddress() const;
		/// The address the proxy listens on (the real port when bindAddr asked for port 0).
	std::optional<Poco::Net::SocketAddress> adminAddress() const;
		/// The admin endpoint's address; none when adminAddr is "" or the default was taken.
	const std::string& adminUnavailable() const { return _adminUnavailable; }
		/// Why the default adminAddr could not be bound (the listener's message); empty when the
		/// admin endpoint runs or was turned off with "".

	static std::shared_ptr<Proxy::Runtime> makeRuntime(std::shared_ptr<const Config::Settings> pSettings,
		Stats::Counters& counters);
		/// The Runtime for `pSettings`, with the TCP prober: how start and reload build one.

private:
	Stats::Counters _counters;              // declared first: everything below reports into it
	Proxy::ConnectionContext _context;
	std::unique_ptr<Proxy::ProxyServer> _pProxy;
	Poco::Timestamp _started;
	std::unique_ptr<Admin::AdminServer> _pAdmin;  // after the proxy: its pages read the proxy
	std::string _adminUnavailable;
	bool _stopped = false;
};

} } // namespace ForwardOptimal::App
