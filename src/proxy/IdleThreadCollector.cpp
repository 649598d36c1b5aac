#include "proxy/IdleThreadCollector.h"

#include "Poco/Bugcheck.h"

#include <algorithm>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace ForwardOptimal {
namespace Proxy {

namespace {

constexpr long MIN_PERIOD_MS = 250;  // for the tests' one-second idle times

} // namespace


IdleThreadCollector::IdleThreadCollector(Poco::ThreadPool& pool, int idleSeconds):
	_pool(pool),
	_periodMs(std::max(MIN_PERIOD_MS, idleSeconds * 1000L / 4)),
	_thread([this] { run(); })
{
}


IdleThreadCollector::~IdleThreadCollector()
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


void IdleThreadCollector::stop()
{
	{
		std::lock_guard<std::mutex> lock(_mutex);
		_stopping = true;
	}
	_wake.notify_all();
	if (_thread.joinable())
		_thread.join();
}


void IdleThreadCollector::run()
{
	// collect() takes the pool's lock and joins the threads it retires (each wakes and returns at
	// once): a few microseconds per thread, while new clients wait for the lock.
	std::unique_lock<std::mutex> lock(_mutex);
	while (!_wake.wait_for(lock, std::chrono::milliseconds(_periodMs), [this] { return _stopping; }))
	{
		lock.unlock();
		int before = _pool.allocated();
		_pool.collect();
#ifdef __GLIBC__
		// The retired threads' malloc arenas keep the relay buffers their sessions freed; glibc
		// hands free pages back only from the top of the main heap by itself. Once per burst.
		if (_pool.allocated() < before)
			malloc_trim(0);
#endif
		lock.lock();
	}
}

} } // namespace ForwardOptimal::Proxy
