#include "pool/Backoff.h"

#include <algorithm>

namespace ForwardOptimal {
namespace Pool {

constexpr std::chrono::milliseconds Backoff::INITIAL;
constexpr std::chrono::milliseconds Backoff::MAX;


void Backoff::failed(Clock::time_point now)
{
	// Failures found while already waiting come from connects made before the wait began
	// (the pool opens poolSize sockets at once): one episode, one step.
	if (now < _until)
		return;
	_delay = _failures == 0 ? INITIAL : std::min(MAX, 2 * _delay);
	++_failures;
	_until = now + _delay;
}


void Backoff::reset()
{
	_delay = std::chrono::milliseconds(0);
	_until = Clock::time_point();
	_failures = 0;
}

} } // namespace ForwardOptimal::Pool
