#include "pool/UpstreamPool.h"

#include "Poco/Net/NetException.h"
#include "Poco/Net/SocketAddress.h"
#include "Poco/Net/StreamSocketImpl.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include <fcntl.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

namespace ForwardOptimal {
namespace Pool {

namespace {

constexpr std::chrono::milliseconds MAINTAIN_PERIOD{100};

} // namespace


UpstreamPool::UpstreamPool(std::shared_ptr<const Config::Settings> pSettings, Health::HealthMonitor& monitor, Stats::Counters& counters):
	_logger(Poco::Logger::get("ForwardOptimal.Pool.UpstreamPool")),
	_pSettings(std::move(pSettings)),
	_monitor(monitor),
	_counters(counters)
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
	_thread = std::thread([this] { maintain(); });
}


void UpstreamPool::stop()
{
	std::map<std::string, std::deque<Idle>> closing;
	{
		std::lock_guard<std::mutex> lock(_mutex);
		_stopping = true;
		closing.swap(_idle);
	}
	_wake.notify_all();
	if (_thread.joinable())
		_thread.join();
	// `closing` goes out of scope here: the sockets close outside the lock.
}


bool UpstreamPool::isAlive(int fd)
{
	pollfd p{fd, POLLIN | POLLRDHUP, 0};
	if (::poll(&p, 1, 0) < 0)
		return false;
	if (p.revents & (POLLERR | POLLHUP | POLLNVAL | POLLRDHUP))
		return false; // closed by the peer, even if a banner is still unread
	if (p.revents & POLLIN)
	{
		char byte;
		ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
		return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	}
	return true;
}


void UpstreamPool::tune(Poco::Net::StreamSocket& socket)
{
	socket.setNoDelay(true);
	socket.setKeepAlive(true);
}


std::chrono::milliseconds UpstreamPool::ageOf(const Idle& idle, std::chrono::steady_clock::time_point now)
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(now - idle.since);
}


UpstreamPool::Check UpstreamPool::check(const Idle& idle, std::chrono::milliseconds maxIdle, std::chrono::steady_clock::time_point now)
{
	if (ageOf(idle, now) >= maxIdle)
		return Check::TOO_OLD;
	return isAlive(idle.socket.impl()->sockfd()) ? Check::FRESH : Check::CLOSED;
}


std::chrono::milliseconds UpstreamPool::maxIdle(const std::string& target, std::chrono::steady_clock::time_point now) const
{
	auto it = _lifetimes.find(target);
	return it == _lifetimes.end() ? _pSettings->poolMaxIdle : it->second.maxIdle(_pSettings->poolMaxIdle, now);
}


void UpstreamPool::closedByPeer(const std::string& target, std::chrono::milliseconds age, std::chrono::steady_clock::time_point now)
{
	IdleLifetime& lifetime = _lifetimes[target];
	if (lifetime.closedByPeer(age, now) && _logger.information())
	{
		std::chrono::milliseconds learned = lifetime.lifetime(now).value_or(age);
		_logger.information("🔄 目标 " + target + " 约 " + std::to_string(learned.count())
			+ " ms 后关闭空闲连接; 连接池改为 " + std::to_string(maxIdle(target, now).count()) + " ms 后更换预连接");
	}
}


Poco::Net::StreamSocket UpstreamPool::connect(const Health::TargetStatus& target) const
{
	// The probe's last resolution, so a session does not wait for DNS; a name never resolved
	// yet is resolved now.
	Poco::Net::SocketAddress address = target.address.empty()
		? Poco::Net::SocketAddress(target.target.host(), target.target.port())
		: Poco::Net::SocketAddress(target.address);
	// Plain system calls: POCO 1.11's connect with a timeout builds an epoll set for the wait
	// and toggles blocking mode twice; this is on every session's path when the pool is off.
	int fd = ::socket(address.af(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		throw Poco::Net::NetException(std::string("cannot create a socket: ") + std::strerror(errno), errno);
	Poco::Net::StreamSocket socket(new Poco::Net::StreamSocketImpl(fd)); // owns fd from here
	if (::connect(fd, address.addr(), address.length()) != 0)
	{
		int error = errno;
		if (error == EINPROGRESS)
		{
			pollfd entry{fd, POLLOUT, 0};
			int ready;
			do
				ready = ::poll(&entry, 1, static_cast<int>(_pSettings->connectTimeout.count()));
			while (ready < 0 && errno == EINTR);
			if (ready == 0)
				throw Poco::TimeoutException("connect timed out", address.toString());
			socklen_t length = sizeof error;
			if (ready < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
				error = errno;
		}
		if (error == ECONNREFUSED)
			throw Poco::Net::ConnectionRefusedException(address.toString(), error);
		if (error != 0)
			throw Poco::Net::NetException(std::string(std::strerror(error)) + ": " + address.toString(), error);
	}
	::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK); // blocking, as POCO's sockets are
	tune(socket);
	return socket;
}


Poco::Net::StreamSocket UpstreamPool::acquire(const Health::TargetStatus& target, bool& fromPool)
{
	fromPool = false;
	if (_pSettings->poolSize > 0)
	{
		std::string key = target.target.toString();
		std::vector<Idle> discarded; // closed outside the lock
		std::unique_lock<std::mutex> lock(_mutex);
		auto now = std::chrono::steady_clock::now();
		std::chrono::milliseconds limit = maxIdle(key, now);
		std::chrono::milliseconds oldestClosed{0};
		std::optional<Idle> handed;
		auto it = _idle.find(key);
		while (!handed && it != _idle.end() && !it->second.empty())
		{
			Idle idle = std::move(it->second.front());
			it->second.pop_front();
			Check state = check(idle, limit, now);
			if (state == Check::FRESH)
				handed = std::move(idle);
			else
			{
				if (state == Check::CLOSED)
					oldestClosed = std::max(oldestClosed, ageOf(idle, now));
				++_counters.poolDiscarded;
				discarded.push_back(std::move(idle));
			}
		}
		if (oldestClosed.count() > 0)
			closedByPeer(key, oldestClosed, now);
		lock.unlock();
		_wake.notify_one(); // refill
		if (handed)
		{
			++_counters.poolHits;
			fromPool = true;
			return handed->socket;
		}
	}
	++_counters.poolMisses;
	return connect(target);
}


std::size_t UpstreamPool::idleCount(const Config::Endpoint& target) const
{
	std::lock_guard<std::mutex> lock(_mutex);
	auto it = _idle.find(target.toString());
	return it == _idle.end() ? 0 : it->second.size();
}


std::optional<std::chrono::milliseconds> UpstreamPool::learnedLifetime(const Config::Endpoint& target) const
{
	std::lock_guard<std::mutex> lock(_mutex);
	auto it = _lifetimes.find(target.toString());
	return it == _lifetimes.end() ? std::nullopt : it->second.lifetime(std::chrono::steady_clock::now());
}


std::chrono::milliseconds UpstreamPool::maxIdle(const Config::Endpoint& target) const
{
	std::lock_guard<std::mutex> lock(_mutex);
	return maxIdle(target.toString(), std::chrono::steady_clock::now());
}


void UpstreamPool::maintain()
{
	std::unique_lock<std::mutex> lock(_mutex);
	std::string swept;   // the best target at the last sweep
	auto lastSweep = std::chrono::steady_clock::time_point();
	while (!_stopping)
	{
		auto pRoute = _monitor.snapshot();
		const Health::TargetStatus* pBest = pRoute->best();
		std::string wanted = pBest ? pBest->target.toString() : std::string();

		// Drop what is no longer wanted or no longer good; close it outside the lock. A sweep
		// checks every idle socket (a poll each), so it runs when the best target changed or a
		// period has passed, not after every refill: under a stream of clients the refills
		// follow each other, and acquire() checks each socket it hands out anyway.
		std::vector<Idle> discarded;
		auto now = std::chrono::steady_clock::now();
		bool sweep = wanted != swept || now - lastSweep >= MAINTAIN_PERIOD;
		if (sweep)
		{
			swept = wanted;
			lastSweep = now;
		}
		for (auto it = _idle.begin(); sweep && it != _idle.end();)
		{
			auto& queue = it->second;
			bool isWanted = it->first == wanted;
			std::chrono::milliseconds limit = maxIdle(it->first, now);
			std::chrono::milliseconds oldestClosed{0};
			for (auto idle = queue.begin(); idle != queue.end();)
			{
				Check state = isWanted ? check(*idle, limit, now) : Check::TOO_OLD;
				if (state == Check::FRESH)
					++idle;
				else
				{
					if (state == Check::CLOSED)
						oldestClosed = std::max(oldestClosed, ageOf(*idle, now));
					++_counters.poolDiscarded;
					discarded.push_back(std::move(*idle));
					idle = queue.erase(idle);
				}
			}
			if (oldestClosed.count() > 0)
				closedByPeer(it->first, oldestClosed, now);
			it = queue.empty() ? _idle.erase(it) : std::next(it);
		}

		std::size_t have = wanted.empty() ? 0 : _idle[wanted].size();
		if (!wanted.empty() && have < _pSettings->poolSize)
		{
			Health::TargetStatus target = *pBest;
			lock.unlock();
			discarded.clear();
			try
			{
				Idle idle{connect(target), std::chrono::steady_clock::now()};
				lock.lock();
				if (!_stopping)
					_idle[wanted].push_back(std::move(idle));
				continue; // more may be needed; no wait
			}
			catch (const Poco::Exception& error)
			{
				// The health checks decide about the target; the pool just tries again later.
				if (_logger.debug())
					_logger.debug("pre-connect to " + wanted + " failed: " + error.displayText());
				lock.lock();
			}
		}
		else if (!discarded.empty())
		{
			lock.unlock();
			discarded.clear();
			lock.lock();
		}
		_wake.wait_for(lock, MAINTAIN_PERIOD);
	}
	_idle.clear();
}

} } // namespace ForwardOptimal::Pool
