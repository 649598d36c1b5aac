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
	_stop(Poco::Event::EVENT_MANUALRESET),
	_thread("fo-collector")
{
	_thread.start(*this);
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
	_stop.set();
	if (_thread.isRunning())
		_thread.join();
}


void IdleThreadCollector::run()
{
	// collect() takes the pool's lock and joins the threads it retires (each wakes and returns at
	// once): a few microseconds per thread, while new clients wait for the lock.
	while (!_stop.tryWait(_periodMs))
	{
		int before = _pool.allocated();
		_pool.collect();
#ifdef __GLIBC__
		// The retired threads' malloc arenas keep the relay buffers their sessions freed; glibc
		// hands free pages back only from the top of the main heap by itself. Once per burst.
		if (_pool.allocated() < before)
			malloc_trim(0);
#endif
	}
}

} } // namespace ForwardOptimal::Proxy
