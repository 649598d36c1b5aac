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


HealthMonitor::HealthMonitor(std::shared_ptr<const Config::Settings> pSettings, Prober& prober,
	const Stats::Counters* pCounters):
	_logger(Poco::Logger::get("ForwardOptimal.Health.Monitor")),
	_pSettings(std::move(pSettings)),
	_prober(prober),
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

	std::vector<ProbeResult> results(settings.targets.size());
	std::vector<std::thread> probes;
	probes.reserve(settings.targets.size());
	for (std::size_t i = 0; i < settings.targets.size(); ++i)
		probes.emplace_back([&, i] { results[i] = _prober.probe(settings.targets[i], settings.probeTimeout); });
	for (auto& probe : probes)
		probe.join();

	std::vector<std::string> events;
	std::vector<StateChange> changes;
	std::vector<std::string> warnings;
	std::shared_ptr<const HealthSnapshot> pSnapshot;
	bool changed;
	{
		std::lock_guard<std::mutex> lock(_stateMutex);
		Poco::Timestamp now;
		auto pRound = std::make_shared<RoundRecord>();
		pRound->at = now;
		for (std::size_t i = 0; i < results.size(); ++i)
		{
			TargetStatus& status = _targets[i];
			if (!results[i].ok && results[i].local)
				warnings.push_back("⚠️  无法探测 " + status.target.toString() + ": " + results[i].error
					+ " (本进程资源不足, 不是目标的问题; 状态保持不变)");
			Selector::Change change = Selector::apply(status, results[i], settings, now);
			if (change == Selector::Change::UP)
			{
				events.push_back("🟢 节点上线: " + status.target.toString() + " (延迟: " + HealthReport::latency(results[i].latencyMs) + ")");
				changes.push_back({now, StateChange::Kind::UP, status.target.toString(), "latency " + HealthReport::latency(results[i].latencyMs)});
			}
			else if (change == Selector::Change::DOWN)
			{
				events.push_back("🔴 节点离线: " + status.target.toString() + " (原因: " + results[i].error + ")");
				changes.push_back({now, StateChange::Kind::DOWN, status.target.toString(), results[i].error});
			}
			pRound->up.push_back(status.healthy);
			pRound->latencyMs.push_back(results[i].ok ? results[i].latencyMs : -1);
		}
		pRound->round = ++_round;
		changed = publishLocked(events, changes, pRound);
		pSnapshot = _pSnapshot;
	}
	if (changed)
		bestChanged();
	for (const auto& warning : warnings)
		_logger.warning(warning);
	for (const auto& event : events)
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
	bool wasPaused = _pSnapshot->paused() && _pSnapshot->round > 0;

	auto pNext = std::make_shared<HealthSnapshot>();
	pNext->targets = _targets;
	pNext->ranking = Selector::rank(_targets, previousBest, settings);
	pNext->round = _round;
	Poco::Timestamp now;

	if (!pNext->ranking.empty())
	{
		std::size_t best = pNext->ranking.front();
		const TargetStatus& status = _targets[best];
		std::string latency = HealthReport::latency(status.smoothedLatencyMs);
		std::string why = "smoothed " + latency;
		if (pNext->ranking.size() > 1)
			why += " vs " + _targets[pNext->ranking[1]].target.toString() + " "
				+ HealthReport::latency(_targets[pNext->ranking[1]].smoothedLatencyMs);
		if (wasPaused)
			events.push_back("▶️ 服务恢复: 最优目标 " + status.target.toString() + " (延迟: " + latency + ")");
		else if (!previousBest)
			events.push_back("🎯 最优目标: " + status.target.toString() + " (延迟: " + latency + ")");
		else if (*previousBest != best)
		{
			events.push_back("🔀 最优目标切换: " + _targets[*previousBest].target.toString() + " → "
				+ status.target.toString() + " (延迟: " + latency + ")");
			why = "was " + _targets[*previousBest].target.toString() + (_targets[*previousBest].healthy
				? " (smoothed " + HealthReport::latency(_targets[*previousBest].smoothedLatencyMs) + ")" : " (down)")
				+ "; now " + why;
		}
		if (wasPaused || !previousBest || *previousBest != best)
			changes.push_back({now, StateChange::Kind::BEST, status.target.toString(), why});
	}
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
	_pSnapshot = pNext;
	return best != previousBest;
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


void HealthMonitor::reportFailure(const Config::Endpoint& target, const std::string& reason)
{
	std::vector<std::string> events;
	bool changed = false;
	{
		std::lock_guard<std::mutex> lock(_stateMutex);
		std::vector<StateChange> changes;
		for (auto& status : _targets)
		{
			if (status.target != target)
				continue;
			if (Selector::markFailed(status, reason, *_pSettings, Poco::Timestamp()) == Selector::Change::DOWN)
			{
				events.push_back("🔴 节点离线: " + target.toString() + " (原因: " + reason + ", 转发时发现)");
				changes.push_back({Poco::Timestamp(), StateChange::Kind::DOWN, target.toString(), reason + " (found by forwarding)"});
				changed = publishLocked(events, changes, nullptr) || changed;
				changes.clear();
			}
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
