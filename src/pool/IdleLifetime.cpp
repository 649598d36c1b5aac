#include "pool/IdleLifetime.h"

#include <algorithm>

namespace ForwardOptimal {
namespace Pool {

namespace {

// Two events agree when they differ by at most a quarter of the larger age.
bool agree(std::chrono::milliseconds a, std::chrono::milliseconds b)
{
	return 4 * (std::max(a, b) - std::min(a, b)) <= std::max(a, b);
}

} // namespace


constexpr std::chrono::minutes IdleLifetime::FORGET_AFTER;


bool IdleLifetime::closedByPeer(std::chrono::milliseconds age, Clock::time_point now)
{
	if (age <= std::chrono::milliseconds::zero())
		return false;
	// The next closure of a server with a fixed timeout comes about one lifetime after the
	// last one (the replacements were opened then). Events closer together than half their
	// age are one closure found by two checks; events far apart are unrelated.
	bool confirms = false;
	if (_candidate)
	{
		auto since = now - _candidate->at;
		confirms = since >= age / 2 && since <= 2 * age + std::chrono::seconds(1) && agree(_candidate->age, age);
	}
	if (!confirms)
	{
		_candidate = Event{age, now};
		return false;
	}
	std::chrono::milliseconds found = std::min(_candidate->age, age);
	_candidate.reset();
	std::optional<std::chrono::milliseconds> known = lifetime(now);
	std::optional<Event> previous = _learned;
	_learned = Event{known ? std::min(*known, found) : found, now};
	// News for the log only when it differs from what was known, forgotten or not.
	return !previous || !agree(previous->age, _learned->age);
}


std::optional<std::chrono::milliseconds> IdleLifetime::lifetime(Clock::time_point now) const
{
	if (!_learned || now - _learned->at >= FORGET_AFTER)
		return std::nullopt;
	return _learned->age;
}


std::chrono::milliseconds IdleLifetime::maxIdle(std::chrono::milliseconds configured, Clock::time_point now) const
{
	std::optional<std::chrono::milliseconds> learned = lifetime(now);
	return learned ? std::min(configured, *learned / 2) : configured;
}

} } // namespace ForwardOptimal::Pool
