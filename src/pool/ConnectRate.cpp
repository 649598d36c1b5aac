#include "pool/ConnectRate.h"

namespace ForwardOptimal {
namespace Pool {

namespace {

constexpr std::chrono::seconds WINDOW{1};

} // namespace


void ConnectRate::forget(Clock::time_point now)
{
	while (!_starts.empty() && now - _starts.front() >= WINDOW)
		_starts.pop_front();
}


bool ConnectRate::allow(Clock::time_point now)
{
	if (_credits > 0)
	{
		--_credits;
		return true;
	}
	forget(now);
	if (_starts.size() >= _perSecond)
		return false;
	_starts.push_back(now);
	return true;
}


ConnectRate::Clock::time_point ConnectRate::nextAllowed(Clock::time_point now)
{
	forget(now);
	return _credits > 0 || _starts.size() < _perSecond ? now : _starts.front() + WINDOW;
}


void ConnectRate::credit()
{
	if (_credits < _perSecond)
		++_credits;
}

} } // namespace ForwardOptimal::Pool
