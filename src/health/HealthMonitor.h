#pragma once

#include "config/Settings.h"
#include "health/HealthSnapshot.h"
#include "health/Prober.h"
#include "health/Resolver.h"
#include "stats/Counters.h"

#include "Poco/Logger.h"
#include "Poco/Util/Timer.h"
#include "Poco/Util/TimerTask.h"

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

namespace ForwardOptimal {
namespace Health {

/// Runs the health rounds on a Poco timer and publishes the ranked targets.
///
/// A round probes every target concurrently (one thread per target, so it lasts as long as
/// the slowest probe). A name is resolved first (the Resolver, bounded by probeTimeout and not
/// counted in the latency; a literal address never reaches it) and every address it resolves
/// to is probed, concurrently. The round folds the results in with the Selector's rules, publishes a new
/// immutable HealthSnapshot, logs each state change on a line of its own and then the spec's
/// report. The next round follows after `updateInterval` while some target is usable and after
/// `failureInterval` while none is; a failure reported by the forwarding path takes the target
/// out at once and brings the next round forward.
///
/// Thread-safety: snapshot() and reportFailure() may be called from any thread; rounds never
/// overlap. Locks are held for bookkeeping only, never across socket I/O.
class HealthMonitor
{
public:
	static constexpr std::chrono::milliseconds MIN_EXTRA_ROUND_GAP{1000};
		/// An extra round asked for by reportFailure() starts at most this soon after the
		/// previous round started, so a storm of failing clients cannot become a probe storm.

	HealthMonitor(std::shared_ptr<const Config::Settings> pSettings, Prober& prober,
		const Stats::Counters* pCounters = nullptr, std::shared_ptr<Resolver> pResolver = nullptr);
		/// The prober (and the counters, shown in the report when given) must outlive the monitor.
		/// Without a resolver, names are resolved by a SystemResolver.

	~HealthMonitor();

	HealthMonitor(const HealthMonitor&) = delete;
	HealthMonitor& operator=(const HealthMonitor&) = delete;

	void start();
		/// Runs the first round now (so the first clients already have a route), then
		/// schedules the following ones on the timer.

	void stop();
		/// Cancels the schedule and waits for a running round. Idempotent. (A timer task that
		/// had already fired returns without probing; the timer thread ends with the monitor.)

	void runRound();
		/// One complete round, synchronously (the timer calls this; so can tests).

	std::shared_ptr<const HealthSnapshot> snapshot() const;
		/// The latest published state. Cheap: one mutex-protected shared_ptr copy.

	void reportFailure(const Config::Endpoint& target, const std::string& reason, const std::string& address = std::string());
		/// The forwarding path could not connect to `address` (AddressStatus::text) of `target`,
		/// or to the target as a whole when `address` is empty: that address leaves the target's
		/// connect order now, and the target the ranking when no address of it is left (the next
		/// best serves the following clients); a probe round is scheduled promptly.

	std::chrono::milliseconds nextInterval() const;
		/// updateInterval while some target is usable, failureInterval while none is.

	void onBestChange(std::function<void()> listener);
		/// `listener` is called (outside the monitor's locks, on the publishing thread) each
		/// time a snapshot with another best target (or none), or another best address of the
		/// best target, is published. One listener;
		/// an empty function removes it. It must stay callable as long as the monitor lives.

private:
	class RoundTask;
	void onTimer();
	void scheduleLocked(std::chrono::milliseconds delay);
	bool publishLocked(std::vector<std::string>& events, std::vector<StateChange>& changes,
		std::shared_ptr<const RoundRecord> pRound);
	void bestChanged();

	Poco::Logger& _logger;
	std::shared_ptr<const Config::Settings> _pSettings;
	Prober& _prober;
	std::shared_ptr<Resolver> _pResolver;
	const Stats::Counters* _pCounters;

	// Lock order: _roundMutex, then _scheduleMutex, then _stateMutex; never the other way.
	// runRound() holds _roundMutex while it takes each of the other two in turn; start() and
	// onTimer() hold _scheduleMutex while nextInterval() reads the snapshot under _stateMutex;
	// reportFailure() releases _stateMutex before it takes _scheduleMutex. None is held across
	// a probe.
	std::mutex _roundMutex;                     // serializes rounds
	mutable std::mutex _stateMutex;             // guards _targets, _pSnapshot (and the history in it), _round, _onBestChange
	std::vector<TargetStatus> _targets;
	std::shared_ptr<const HealthSnapshot> _pSnapshot;
	std::uint64_t _round = 0;
	std::function<void()> _onBestChange;

	std::mutex _scheduleMutex;                  // guards the fields below
	Poco::Util::Timer _timer;
	Poco::Util::TimerTask::Ptr _pPending;
	bool _running = false;
	bool _extraRoundRequested = false;
	std::chrono::steady_clock::time_point _lastRoundStart;
};

} } // namespace ForwardOptimal::Health
