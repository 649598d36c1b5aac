#include "health/HealthMonitor.h"

#include "health/HealthReport.h"
#include "health/Selector.h"

#include <thread>

namespace ForwardOptimal {
namespace Health {

class HealthMonitor::RoundTask: public Poco::Util::TimerTask
{
public:
	explicit RoundTask(HealthMonitor& monitor): _monitor(monitor) {}
	void run() override { _monitor.onTimer(); }

private:
	HealthMonitor& _monitor;
};


namespace {

/// One target's part of a round: its addresses' results, or why its name did not resolve.
struct TargetRound
{
	std::vector<Selector::AddressResult> results;
	std::string dnsError;
};

/// The round's latency of a target for the history ring: its fastest address that answered, or
/// -1 when none did.
double fastest(const std::vector<Selector::AddressResult>& results)
{
	double best = -1;
	for (const auto& probe : results)
		if (probe.result.ok && (best < 0 || probe.result.latencyMs < best))
			best = probe.result.latencyMs;
	return best;
}


TargetRound probeTarget(const Config::Endpoint& target, Prober& prober, Resolver& resolver,
	std::chrono::milliseconds timeout)
{
	TargetRound round;
	std::vector<Poco::Net::SocketAddress> addresses;
	if (auto literal = Resolver::literal(target))
		addresses.push_back(*literal);
	else
	{
		// Not timed: the probe's latency is the connect alone.
		Resolution resolution = resolver.resolve(target, timeout);
		if (!resolution)
		{
			round.dnsError = resolution.error;
			return round;
		}
		addresses = resolution.addresses;
	}
	round.results.resize(addresses.size());
	for (std::size_t k = 0; k < addresses.size(); ++k)
		round.results[k].address = addresses[k];
	if (addresses.size() == 1)
	{
		round.results[0].result = prober.probe(addresses[0], timeout);
		return round;
	}
	std::vector<std::thread> probes;
	probes.reserve(addresses.size());
	for (std::size_t k = 0; k < addresses.size(); ++k)
		probes.emplace_back([&, k] { round.results[k].result = prober.probe(addresses[k], timeout); });
	for (auto& probe : probes)
		probe.join();
	return round;
}

void addressEvents(const TargetStatus& status, const std::vector<Selector::AddressChange>& changes,
	std::vector<std::string>& events, const std::string& suffix = std::string())
{
	std::string name = status.target.toString();
	for (const auto& change : changes)
	{
		if (change.removed)
			events.push_back("➖ 地址移除: " + name + " → " + change.address + " (域名不再解析到它)");
		else if (change.change == Selector::Change::UP)
			events.push_back("🟢 地址上线: " + name + " → " + change.address + " (延迟: " + HealthReport::latency(change.latencyMs) + ")");
		else if (change.change == Selector::Change::DOWN)
			events.push_back("🔴 地址离线: " + name + " → " + change.address + " (原因: " + change.reason + suffix + ")");
	}
}


/// Probes every target at once (each on its own thread), one TargetRound per target.
std::vector<TargetRound> probeTargets(const Config::Settings& settings, Prober& prober, Resolver& resolver)
{
	std::vector<TargetRound> rounds(settings.targets.size());
	std::vector<std::thread> probes;
	probes.reserve(settings.targets.size());
	for (std::size_t i = 0; i < settings.targets.size(); ++i)
		probes.emplace_back([&, i] { rounds[i] = probeTarget(settings.targets[i], prober, resolver, settings.probeTimeout); });
	for (auto& probe : probes)
		probe.join();
	return rounds;
}

/// What a round has to log and record once the state lock is released.
struct RoundOutcome
{
	std::vector<std::string> events;
	std::vector<StateChange> changes;
	std::vector<std::string> warnings;
};

/// Folds one target's part of a round into its status: warnings for probes that failed for a
/// local reason, events and state changes for it and its addresses, its column of the round record.
void applyTargetRound(TargetStatus& status, const TargetRound& targetRound, const Config::Settings& settings,
	const Poco::Timestamp& now, RoundOutcome& outcome, RoundRecord& record)
{
	for (const auto& probe : targetRound.results)
		if (!probe.result.ok && probe.result.local)
			outcome.warnings.push_back("⚠️  无法探测 " + status.target.toString()
				+ (targetRound.results.size() > 1 ? " → " + probe.address.toString() : std::string()) + ": "
				+ probe.result.error + " (本进程资源不足, 不是目标的问题; 状态保持不变)");
	std::vector<Selector::AddressChange> addressChanges;
	Selector::Change change = Selector::update(status, targetRound.results, targetRound.dnsError, settings, now, &addressChanges);
	addressEvents(status, addressChanges, outcome.events);
	if (change == Selector::Change::UP)
	{
		outcome.events.push_back("🟢 节点上线: " + status.target.toString() + " (延迟: " + HealthReport::latency(status.lastLatencyMs) + ")");
		outcome.changes.push_back({now, StateChange::Kind::UP, status.target.toString(), "latency " + HealthReport::latency(status.lastLatencyMs)});
	}
	else if (change == Selector::Change::DOWN)
	{
		outcome.events.push_back("🔴 节点离线: " + status.target.toString() + " (原因: " + status.lastError + ")");
		outcome.changes.push_back({now, StateChange::Kind::DOWN, status.target.toString(), status.lastError});
	}
	record.up.push_back(status.healthy);
	record.latencyMs.push_back(fastest(targetRound.results));
}

/// The events and state change for a ranking with a best target: service resumed, first best,
/// best switched, or (for a name) the best target's best address switched.
void bestEvents(const std::vector<TargetStatus>& targets, const std::vector<std::size_t>& ranking,
	std::optional<std::size_t> previousBest, const std::string& previousAddress, bool wasPaused,
	const Poco::Timestamp& now, std::vector<std::string>& events, std::vector<StateChange>& changes)
{
	std::size_t best = ranking.front();
	const TargetStatus& status = targets[best];
	std::string latency = HealthReport::latency(status.smoothedLatencyMs);
	std::string why = "smoothed " + latency;
	if (ranking.size() > 1)
		why += " vs " + targets[ranking[1]].target.toString() + " "
			+ HealthReport::latency(targets[ranking[1]].smoothedLatencyMs);
	if (wasPaused)
		events.push_back("▶️ 服务恢复: 最优目标 " + status.target.toString() + " (延迟: " + latency + ")");
	else if (!previousBest)
		events.push_back("🎯 最优目标: " + status.target.toString() + " (延迟: " + latency + ")");
	else if (*previousBest != best)
	{
		events.push_back("🔀 最优目标切换: " + targets[*previousBest].target.toString() + " → "
			+ status.target.toString() + " (延迟: " + latency + ")");
		why = "was " + targets[*previousBest].target.toString() + (targets[*previousBest].healthy
			? " (smoothed " + HealthReport::latency(targets[*previousBest].smoothedLatencyMs) + ")" : " (down)")
			+ "; now " + why;
	}
	else if (status.address != previousAddress && !previousAddress.empty()
		&& status.target.kind() == Config::Endpoint::HostKind::NAME)
		events.push_back("🔀 最优地址切换: " + status.target.toString() + ": " + previousAddress + " → "
			+ status.address + " (延迟: " + latency + ")");
	if (wasPaused || !previousBest || *previousBest != best)
		changes.push_back({now, StateChange::Kind::BEST, status.target.toString(), why});
}

/// A failure the forwarding path found on `target` (on `address` of it, or on all its addresses
/// when empty): marks them failed, adds an event per address that went down, and returns the
/// target's change; `addressDown` says whether an address went down.
Selector::Change markTargetFailed(TargetStatus& status, const std::string& reason, const std::string& address,
	const Config::Settings& settings, const Poco::Timestamp& now, std::vector<std::string>& events, bool& addressDown)
{
	if (status.addresses.empty())
		return Selector::markFailed(status, reason, settings, now);
	std::string previousBest = status.bestAddress() ? status.bestAddress()->text : std::string();
	std::vector<Selector::AddressChange> addressChanges;
	for (auto& a : status.addresses)
	{
		if (!address.empty() && a.text != address)
			continue;
		if (Selector::markFailed(a, reason, settings, now) == Selector::Change::DOWN)
		{
			addressDown = true;
			if (status.addresses.size() > 1)
				addressChanges.push_back(Selector::AddressChange{a.text, Selector::Change::DOWN, false, 0, reason});
		}
	}
	addressEvents(status, addressChanges, events, ", 转发时发现");
	return Selector::fold(status, previousBest, settings, now, false);
}

} // namespace


HealthMonitor::HealthMonitor(std::shared_ptr<const Config::Settings> pSettings, Prober& prober,
	const Stats::Counters* pCounters, std::shared_ptr<Resolver> pResolver):
	_logger(Poco::Logger::get("ForwardOptimal.Health.Monitor")),
	_pSettings(std::move(pSettings)),
	_prober(prober),
	_pResolver(pResolver ? std::move(pResolver) : std::make_shared<SystemResolver>()),
	_pCounters(pCounters)
{
	for (const auto& target : _pSettings->targets)
	{
		TargetStatus status;
		status.target = target;
		_targets.push_back(status);
	}
	auto pInitial = std::make_shared<HealthSnapshot>();
	pInitial->targets = _targets;
	_pSnapshot = pInitial;
}


HealthMonitor::~HealthMonitor()
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


void HealthMonitor::start()
{
	runRound();
	std::lock_guard<std::mutex> lock(_scheduleMutex);
	_running = true;
	scheduleLocked(nextInterval());
}


void HealthMonitor::stop()
{
	{
		std::lock_guard<std::mutex> lock(_scheduleMutex);
		_running = false;
		if (_pPending)
			_pPending->cancel();
		_pPending = nullptr;
	}
	// Wait for a round in progress. (Not Timer::cancel(true): in POCO 1.11 its cancel
	// notification is destroyed by the timer thread while the caller may still wait on it.)
	std::lock_guard<std::mutex> wait(_roundMutex);
}


void HealthMonitor::onTimer()
{
	{
		std::lock_guard<std::mutex> lock(_scheduleMutex);
		if (!_running)
			return;
		_extraRoundRequested = false;
	}
	try
	{
		runRound();
	}
	catch (const std::exception& error)
	{
		_logger.error(std::string("health round failed: ") + error.what());
	}
	std::lock_guard<std::mutex> lock(_scheduleMutex);
	if (_running)
		scheduleLocked(_extraRoundRequested ? std::chrono::milliseconds(0) : nextInterval());
}


void HealthMonitor::scheduleLocked(std::chrono::milliseconds delay)
{
	if (_pPending)
		_pPending->cancel();
	if (_extraRoundRequested)
	{
		auto earliest = _lastRoundStart + MIN_EXTRA_ROUND_GAP;
		auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(earliest - std::chrono::steady_clock::now());
		delay = std::max(std::chrono::milliseconds(0), wait);
	}
	_pPending = new RoundTask(*this);
	Poco::Clock due;
	due += std::chrono::duration_cast<std::chrono::microseconds>(delay).count();
	_timer.schedule(_pPending, due);
}


void HealthMonitor::runRound()
{
	std::lock_guard<std::mutex> roundLock(_roundMutex);
	{
		std::lock_guard<std::mutex> lock(_scheduleMutex);
		_lastRoundStart = std::chrono::steady_clock::now();
	}
	const Config::Settings& settings = *_pSettings;
	std::vector<TargetRound> rounds = probeTargets(settings, _prober, *_pResolver);

	RoundOutcome outcome;
	std::shared_ptr<const HealthSnapshot> pSnapshot;
	bool changed;
	{
		std::lock_guard<std::mutex> lock(_stateMutex);
		Poco::Timestamp now;
		auto pRound = std::make_shared<RoundRecord>();
		pRound->at = now;
		for (std::size_t i = 0; i < rounds.size(); ++i)
			applyTargetRound(_targets[i], rounds[i], settings, now, outcome, *pRound);
		pRound->round = ++_round;
		changed = publishLocked(outcome.events, outcome.changes, pRound);
		pSnapshot = _pSnapshot;
	}
	if (changed)
		bestChanged();
	for (const auto& warning : outcome.warnings)
		_logger.warning(warning);
	for (const auto& event : outcome.events)
		_logger.notice(event);
	_logger.information(HealthReport::render(*pSnapshot, settings,
		pSnapshot->paused() ? settings.failureInterval : settings.updateInterval, _pCounters));
}


bool HealthMonitor::publishLocked(std::vector<std::string>& events, std::vector<StateChange>& changes,
	std::shared_ptr<const RoundRecord> pRound)
{
	const Config::Settings& settings = *_pSettings;
	std::optional<std::size_t> previousBest;
	if (!_pSnapshot->ranking.empty())
		previousBest = _pSnapshot->ranking.front();
	std::string previousAddress = _pSnapshot->best() ? _pSnapshot->best()->address : std::string();
	bool wasPaused = _pSnapshot->paused() && _pSnapshot->round > 0;

	auto pNext = std::make_shared<HealthSnapshot>();
	pNext->targets = _targets;
	pNext->ranking = Selector::rank(_targets, previousBest, settings);
	pNext->round = _round;
	Poco::Timestamp now;

	if (!pNext->ranking.empty())
		bestEvents(_targets, pNext->ranking, previousBest, previousAddress, wasPaused, now, events, changes);
	else if (!_pSnapshot->paused() || _pSnapshot->round == 0)
	{
		events.push_back("⏸️ 服务暂停: 没有健康的目标节点, 新连接将被立即关闭; 每 "
			+ HealthReport::seconds(settings.failureInterval) + " 秒重新检查");
		changes.push_back({now, StateChange::Kind::PAUSED, std::string(), "no healthy target"});
	}
	pNext->at = now;
	pNext->pHistory = _pSnapshot->pHistory->with(std::move(pRound), changes);
	std::optional<std::size_t> best;
	if (!pNext->ranking.empty())
		best = pNext->ranking.front();
	std::string bestAddress = pNext->best() ? pNext->best()->address : std::string();
	_pSnapshot = pNext;
	return best != previousBest || bestAddress != previousAddress;
}


void HealthMonitor::onBestChange(std::function<void()> listener)
{
	std::lock_guard<std::mutex> lock(_stateMutex);
	_onBestChange = std::move(listener);
}


void HealthMonitor::bestChanged()
{
	std::function<void()> listener;
	{
		std::lock_guard<std::mutex> lock(_stateMutex);
		listener = _onBestChange;
	}
	if (listener)
		listener();
}


std::shared_ptr<const HealthSnapshot> HealthMonitor::snapshot() const
{
	std::lock_guard<std::mutex> lock(_stateMutex);
	return _pSnapshot;
}


void HealthMonitor::reportFailure(const Config::Endpoint& target, const std::string& reason, const std::string& address)
{
	std::vector<std::string> events;
	bool changed = false;
	{
		std::lock_guard<std::mutex> lock(_stateMutex);
		std::vector<StateChange> changes;
		Poco::Timestamp now;
		for (auto& status : _targets)
		{
			if (status.target != target)
				continue;
			bool addressDown = false;
			Selector::Change change = markTargetFailed(status, reason, address, *_pSettings, now, events, addressDown);
			if (change == Selector::Change::DOWN)
			{
				events.push_back("🔴 节点离线: " + target.toString() + " (原因: " + reason + ", 转发时发现)");
				changes.push_back({now, StateChange::Kind::DOWN, target.toString(), reason + " (found by forwarding)"});
			}
			if (change == Selector::Change::DOWN || addressDown)
				changed = publishLocked(events, changes, nullptr) || changed;
			changes.clear();
		}
	}
	for (const auto& event : events)
		_logger.notice(event);
	if (changed)
		bestChanged();

	std::lock_guard<std::mutex> lock(_scheduleMutex);
	if (_running)
	{
		_extraRoundRequested = true;
		scheduleLocked(std::chrono::milliseconds(0));
	}
}


std::chrono::milliseconds HealthMonitor::nextInterval() const
{
	return snapshot()->paused() ? _pSettings->failureInterval : _pSettings->updateInterval;
}

} } // namespace ForwardOptimal::Health
