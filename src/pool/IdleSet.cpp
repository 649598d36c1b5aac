#include "pool/IdleSet.h"

#include "net/Connect.h"

#include "Poco/Net/SocketImpl.h"

#include <algorithm>

namespace ForwardOptimal {
namespace Pool {

constexpr std::chrono::milliseconds IdleSet::REFUSAL_AGE;


void IdleSet::add(Poco::Net::StreamSocket socket, Clock::time_point connected)
{
	_idle.push_back(Idle{std::move(socket), connected, false});
}


IdleSet::Verdict IdleSet::judge(Idle& idle, std::chrono::milliseconds maxIdle, Clock::time_point now, Discarded& discarded)
{
	auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - idle.since);
	if (age >= maxIdle)
	{
		++discarded.tooOld;
		discarded.sockets.push_back(std::move(idle.socket));
		return Verdict::DROPPED;
	}
	int fd = idle.socket.impl()->sockfd();
	Net::Liveness state = Net::liveness(fd);
	if (state == Net::Liveness::ALIVE)
	{
		if (!idle.settled && age >= REFUSAL_AGE)
		{
			idle.settled = true;
			++discarded.settled;
		}
		return Verdict::KEEP;
	}
	if (!idle.settled && age < REFUSAL_AGE)
	{
		++discarded.refused;
		if (discarded.refusalText.empty() && state == Net::Liveness::CLOSED_AFTER_DATA)
			discarded.refusalText = Net::peekText(fd);
	}
	else
	{
		++discarded.closed;
		discarded.oldestClosed = std::max(discarded.oldestClosed, age);
	}
	discarded.sockets.push_back(std::move(idle.socket));
	return Verdict::DROPPED;
}


std::optional<Poco::Net::StreamSocket> IdleSet::take(std::chrono::milliseconds maxIdle, Clock::time_point now, Discarded& discarded)
{
	while (!_idle.empty())
	{
		Idle idle = std::move(_idle.front());
		_idle.pop_front();
		if (judge(idle, maxIdle, now, discarded) == Verdict::KEEP)
			return std::move(idle.socket);
	}
	return std::nullopt;
}


IdleSet::Discarded IdleSet::sweep(std::chrono::milliseconds maxIdle, Clock::time_point now)
{
	Discarded discarded;
	for (auto it = _idle.begin(); it != _idle.end();)
		it = judge(*it, maxIdle, now, discarded) == Verdict::KEEP ? std::next(it) : _idle.erase(it);
	return discarded;
}


IdleSet::Discarded IdleSet::clear()
{
	Discarded discarded;
	for (auto& idle : _idle)
		discarded.sockets.push_back(std::move(idle.socket));
	discarded.tooOld = _idle.size();
	_idle.clear();
	return discarded;
}


std::optional<IdleSet::Clock::time_point> IdleSet::nextCheck(std::chrono::milliseconds maxIdle) const
{
	std::optional<Clock::time_point> next;
	for (const auto& idle : _idle)
	{
		Clock::time_point due = idle.since + (idle.settled ? maxIdle : std::min(maxIdle, REFUSAL_AGE));
		if (!next || due < *next)
			next = due;
	}
	return next;
}


bool IdleSet::hasUnsettled() const
{
	return std::any_of(_idle.begin(), _idle.end(), [](const Idle& idle) { return !idle.settled; });
}


std::vector<int> IdleSet::descriptors() const
{
	std::vector<int> fds;
	fds.reserve(_idle.size());
	for (const auto& idle : _idle)
		fds.push_back(idle.socket.impl()->sockfd());
	return fds;
}

} } // namespace ForwardOptimal::Pool
