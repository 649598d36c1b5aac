#include "proxy/IdleThreadCollector.h"

#include "Poco/Bugcheck.h"

#include <algorithm>

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
		_pool.collect();
}

} } // namespace ForwardOptimal::Proxy
