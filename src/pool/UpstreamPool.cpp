#include "pool/UpstreamPool.h"

#include "net/Connect.h"
#include "net/ResourceShortage.h"

#include "Poco/Exception.h"
#include "Poco/Net/SocketAddress.h"

#include <algorithm>
#include <cerrno>

#include <poll.h>

namespace ForwardOptimal {
namespace Pool {

namespace {

// With nothing due, the thread still looks around this often (a safety net, not a period).
constexpr std::chrono::minutes LONGEST_SLEEP{1};

std::string milliseconds(std::chrono::milliseconds value)
{
	return std::to_string(value.count());
}

std::string seconds(std::chrono::milliseconds value)
{
	std::string text = std::to_string(static_cast<double>(value.count()) / 1000.0);
	text.erase(text.find_last_not_of('0') + 1);
	if (text.back() == '.')
		text.pop_back();
	return text;
}

} // namespace


UpstreamPool::UpstreamPool(std::shared_ptr<const Config::Settings> pSettings, Health::HealthMonitor& monitor, Stats::Counters& counters):
	_logger(Poco::Logger::get("ForwardOptimal.Pool.UpstreamPool")),
	_pSettings(std::move(pSettings)),
	_monitor(monitor),
	_counters(counters),
	// A descriptor only when there is a pool to wake (the fault tests count them).
	_pWakeup(_pSettings->poolSize > 0 ? std::make_shared<Net::Wakeup>() : nullptr),
	_idleStop(_pSettings->poolIdleStop),
	_wasWarm(_idleStop.warm(Clock::now()))
{
}


UpstreamPool::~UpstreamPool()
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


void UpstreamPool::start()
{
	if (_pSettings->poolSize == 0 || _thread.joinable())
		return;
	// The pool starts cold (IdleStop): the thread waits for the first client's acquire().
	// The listener holds the Wakeup, not the pool: a round that publishes after we are gone
	// signals an eventfd nobody waits on.
	_monitor.onBestChange([pWakeup = _pWakeup] { pWakeup->notify(); });
	_thread = std::thread([this] { maintain(); });
}


void UpstreamPool::stop()
{
	std::map<std::string, Target> closing; // the sockets close outside the lock
	{
		std::lock_guard<std::mutex> lock(_mutex);
		_stopping = true;
		closing.swap(_targets);
	}
	if (_pWakeup)
		_pWakeup->notify();
	if (_thread.joinable())
	{
		_thread.join();
		_monitor.onBestChange(nullptr);
	}
}


UpstreamPool::Target& UpstreamPool::targetLocked(const std::string& key)
{
	auto it = _targets.find(key);
	if (it == _targets.end())
		it = _targets.emplace(key, Target(_pSettings->poolSize + 2)).first;
	return it->second;
}


std::chrono::milliseconds UpstreamPool::maxIdleLocked(const Target& target, Clock::time_point now) const
{
	return target.lifetime.maxIdle(_pSettings->poolMaxIdle, now);
}


void UpstreamPool::learnLocked(const std::string& key, Target& target, const IdleSet::Discarded& discarded,
	Clock::time_point now, Notes& notes)
{
	_counters.poolDiscarded += discarded.count();
	if (discarded.closed > 0 && target.lifetime.closedByPeer(discarded.oldestClosed, now))
	{
		std::chrono::milliseconds learned = target.lifetime.lifetime(now).value_or(discarded.oldestClosed);
		notes.emplace_back(Poco::Message::PRIO_INFORMATION, "🔄 目标 " + key + " 约 " + milliseconds(learned)
			+ " ms 后关闭空闲连接; 每个过期的预连接在它看来都是一次失败的登录, 不再预连接 ("
			+ std::to_string(std::chrono::duration_cast<std::chrono::minutes>(IdleLifetime::FORGET_AFTER).count())
			+ " 分钟后重新检查)");
	}
	if (discarded.refused > 0)
	{
		_counters.poolRefusals += discarded.refused;
		target.backoff.failed(now);
		std::string said = discarded.refusalText.empty() ? std::string("(没有发送任何数据)") : "\"" + discarded.refusalText + "\"";
		if (!target.refusing || said != target.refusalLogged)
			notes.emplace_back(Poco::Message::PRIO_WARNING, "⛔ 目标 " + key + " 拒绝了连接池的连接 (连接后立即关闭, 服务器说: "
				+ said + "); 连接池暂停预连接 " + seconds(target.backoff.delay()) + " 秒, 之后逐次加倍 (最多 "
				+ seconds(Backoff::MAX) + " 秒)");
		else if (_logger.debug())
			notes.emplace_back(Poco::Message::PRIO_DEBUG, "target " + key + " refused again; pool backs off "
				+ seconds(target.backoff.delay()) + " s");
		target.refusing = true;
		target.refusalLogged = said;
	}
	else if (discarded.settled > 0 && target.refusing)
	{
		target.refusing = false;
		target.refusalLogged.clear();
		notes.emplace_back(Poco::Message::PRIO_NOTICE, "✅ 目标 " + key + " 重新接受连接池的连接");
	}
}


void UpstreamPool::log(const Notes& notes)
{
	for (const auto& note : notes)
		if (_logger.getLevel() >= note.first)
			_logger.log(Poco::Message(_logger.name(), note.second, note.first));
}


Lease UpstreamPool::connectNow(const Health::TargetStatus& target, const Health::AddressStatus* pAddress) const
{
	Lease lease;
	Poco::Net::SocketAddress address;
	try
	{
		// The probe's last resolution, so a session does not wait for DNS; a name never
		// resolved yet is resolved now.
		address = pAddress ? pAddress->address : target.address.empty()
			? Poco::Net::SocketAddress(target.target.host(), target.target.port())
			: Poco::Net::SocketAddress(target.address);
	}
	catch (const Poco::Exception& error)
	{
		lease.failure = LeaseFailure::UNRESOLVED;
		lease.reason = error.displayText();
		return lease;
	}
	Net::Connected connected = Net::connect(address, _pSettings->connectTimeout);
	if (connected)
	{
		lease.socket = connected.socket;
		return lease;
	}
	lease.reason = connected.text;
	if (Net::isResourceShortage(connected.error))
		lease.failure = LeaseFailure::RESOURCE_SHORTAGE;
	else if (connected.error == ECONNREFUSED)
		lease.failure = LeaseFailure::REFUSED;
	else if (connected.error == ETIMEDOUT)
		lease.failure = LeaseFailure::TIMED_OUT;
	else
		lease.failure = LeaseFailure::UNREACHABLE;
	return lease;
}


Lease UpstreamPool::acquire(const Health::TargetStatus& target, const Health::AddressStatus* pAddress)
{
	if (_pSettings->poolSize > 0)
	{
		std::string key = target.target.toString();
		IdleSet::Discarded discarded; // closed outside the lock
		std::optional<Poco::Net::StreamSocket> handed;
		Notes notes;
		{
			std::lock_guard<std::mutex> lock(_mutex);
			auto now = Clock::now();
			if (!_idleStop.warm(now) && !_stopping)
				notes.emplace_back(Poco::Message::PRIO_INFORMATION, _idleStop.everWarmed()
					? "🔥 连接池: 新客户端到达, 恢复预连接" : "🔥 连接池: 第一个客户端到达, 开始预连接");
			_idleStop.clientArrived(now);
			auto it = _targets.find(key);
			const std::string& address = pAddress ? pAddress->text : target.address;
			if (it != _targets.end() && it->second.address == address)
			{
				handed = it->second.idle.take(maxIdleLocked(it->second, now), now, discarded);
				learnLocked(key, it->second, discarded, now, notes);
				if (handed)
				{
					it->second.backoff.reset();
					it->second.rate.credit(); // its replacement follows the client, not the cap
				}
			}
		}
		_pWakeup->notify(); // refill, or warm up
		log(notes);
		if (handed)
		{
			++_counters.poolHits;
			Lease lease;
			lease.socket = std::move(*handed);
			lease.pooled = true;
			return lease;
		}
	}
	++_counters.poolMisses;
	return connectNow(target, pAddress);
}


std::size_t UpstreamPool::idleCount(const Config::Endpoint& target) const
{
	std::lock_guard<std::mutex> lock(_mutex);
	auto it = _targets.find(target.toString());
	return it == _targets.end() ? 0 : it->second.idle.size();
}


std::optional<std::chrono::milliseconds> UpstreamPool::learnedLifetime(const Config::Endpoint& target) const
{
	std::lock_guard<std::mutex> lock(_mutex);
	auto it = _targets.find(target.toString());
	return it == _targets.end() ? std::nullopt : it->second.lifetime.lifetime(Clock::now());
}


std::chrono::milliseconds UpstreamPool::maxIdle(const Config::Endpoint& target) const
{
	std::lock_guard<std::mutex> lock(_mutex);
	auto it = _targets.find(target.toString());
	return it == _targets.end() ? _pSettings->poolMaxIdle : maxIdleLocked(it->second, Clock::now());
}


std::vector<std::string> UpstreamPool::preconnectDisabled() const
{
	std::lock_guard<std::mutex> lock(_mutex);
	std::vector<std::string> disabled;
	auto now = Clock::now();
	for (const auto& entry : _targets)
		if (entry.second.lifetime.lifetime(now))
			disabled.push_back(entry.first);
	return disabled;
}


bool UpstreamPool::warm() const
{
	std::lock_guard<std::mutex> lock(_mutex);
	return _pSettings->poolSize > 0 && _idleStop.warm(Clock::now());
}


UpstreamPool::Plan UpstreamPool::planLocked(const Health::TargetStatus* pBest, Clock::time_point now,
	std::vector<IdleSet::Discarded>& dropped, Notes& notes)
{
	Plan plan;
	plan.wakeAt = now + LONGEST_SLEEP;
	std::string wanted = pBest ? pBest->target.toString() : std::string();
	bool warm = _idleStop.warm(now);
	if (warm != _wasWarm && !warm)
		notes.emplace_back(Poco::Message::PRIO_INFORMATION, "💤 连接池: " + seconds(_pSettings->poolIdleStop)
			+ " 秒内没有新客户端, 停止预连接并关闭空闲连接; 下一个客户端到达时恢复");
	_wasWarm = warm;

	// Drop what is no longer wanted or no longer good.
	for (auto& entry : _targets)
	{
		Target& target = entry.second;
		bool keep = warm && entry.first == wanted && target.address == pBest->address && !target.lifetime.lifetime(now);
		dropped.push_back(keep ? target.idle.sweep(maxIdleLocked(target, now), now) : target.idle.clear());
		learnLocked(entry.first, target, dropped.back(), now, notes);
		if (keep && target.lifetime.lifetime(now)) // learned just now: no longer kept either
		{
			dropped.push_back(target.idle.clear());
			learnLocked(entry.first, target, dropped.back(), now, notes);
		}
	}
	if (!warm || wanted.empty())
		return plan;
	if (auto cools = _idleStop.coolsAt())
		plan.wakeAt = std::min(plan.wakeAt, *cools);
	Target& target = targetLocked(wanted);
	target.address = pBest->address; // emptied above if it held sockets to another address
	if (target.lifetime.lifetime(now))
		return plan; // not pre-connected: the next client wakes us

	// While a target refuses, one socket at a time: the next only once the last one was kept.
	bool probing = target.refusing && target.idle.hasUnsettled();
	if (target.idle.size() < _pSettings->poolSize && !probing)
	{
		if (target.backoff.ready(now) && target.rate.allow(now))
		{
			plan.connect = *pBest;
			return plan;
		}
		plan.wakeAt = std::min(plan.wakeAt, std::max(target.backoff.until(), target.rate.nextAllowed(now)));
	}
	if (auto due = target.idle.nextCheck(maxIdleLocked(target, now)))
		plan.wakeAt = std::min(plan.wakeAt, *due);
	plan.watched = target.idle.descriptors();
	return plan;
}


void UpstreamPool::preconnect(const Health::TargetStatus& target)
{
	++_counters.poolPreconnects;
	Lease lease = connectNow(target);
	auto now = Clock::now();
	std::chrono::milliseconds delay;
	{
		std::lock_guard<std::mutex> lock(_mutex);
		if (_stopping)
			return; // the socket closes as the lease goes
		Target& state = targetLocked(target.target.toString());
		if (lease && state.address != target.address)
			return; // the best address changed meanwhile: the socket closes as the lease goes
		if (lease)
		{
			state.idle.add(lease.socket, now);
			return;
		}
		// The health checks decide about the target; the pool waits before it tries again.
		state.backoff.failed(now);
		delay = state.backoff.delay();
	}
	if (_logger.debug())
		_logger.debug("pre-connect to " + target.target.toString() + " failed: " + lease.reason
			+ "; next attempt in " + seconds(delay) + " s");
}


void UpstreamPool::wait(const Plan& plan)
{
	std::vector<pollfd> entries;
	entries.reserve(plan.watched.size() + 1);
	entries.push_back(pollfd{_pWakeup->fd(), POLLIN, 0});
	for (int fd : plan.watched)
		entries.push_back(pollfd{fd, POLLRDHUP, 0}); // not POLLIN: a banner waiting is no event
	auto left = std::chrono::duration_cast<std::chrono::milliseconds>(plan.wakeAt - Clock::now());
	int timeout = static_cast<int>(std::max<std::chrono::milliseconds::rep>(0, left.count() + 1));
	if (::poll(entries.data(), entries.size(), timeout) > 0 && (entries[0].revents & POLLIN))
		_pWakeup->drain();
}


void UpstreamPool::maintain()
{
	for (;;)
	{
		// The snapshot is read before the lock: the monitor's mutex is never taken under ours.
		std::shared_ptr<const Health::HealthSnapshot> pRoute = _monitor.snapshot();
		std::vector<IdleSet::Discarded> dropped; // closed outside the lock
		Notes notes;
		Plan plan;
		{
			std::lock_guard<std::mutex> lock(_mutex);
			if (_stopping)
				break;
			plan = planLocked(pRoute->best(), Clock::now(), dropped, notes);
		}
		dropped.clear();
		log(notes);
		if (plan.connect)
			preconnect(*plan.connect);
		else
			wait(plan);
	}
}

} } // namespace ForwardOptimal::Pool
