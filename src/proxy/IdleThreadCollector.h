#pragma once

#include "Poco/ThreadPool.h"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace ForwardOptimal {
namespace Proxy {

/// Makes a ThreadPool's idle time true. POCO 1.11's ThreadPool removes threads that have been
/// idle longer than its idle time only when it hands a thread out (getThread() housekeeps every
/// 32nd call): after a burst, the pool's high-water mark of threads, each with its stack and
/// the heap its sessions touched, stays for as long as no new client arrives. This runs
/// ThreadPool::collect() every quarter of the idle time on one thread of its own that sleeps in
/// between (no other wake-ups), so an idle thread above the minimum goes between 1 and 1.25
/// idle times after its last session. When threads went, glibc's malloc_trim() returns the
/// heap pages their sessions freed, so RSS comes back too.
///
/// Starts with the constructor, stops with the destructor (or stop()); the pool must outlive it.
class IdleThreadCollector
{
public:
	IdleThreadCollector(Poco::ThreadPool& pool, int idleSeconds);
		/// Starts collecting `pool` (whose idle time is `idleSeconds`).

	~IdleThreadCollector();
		/// stop().

	IdleThreadCollector(const IdleThreadCollector&) = delete;
	IdleThreadCollector& operator=(const IdleThreadCollector&) = delete;

	void stop();
		/// Wakes the collecting thread and joins it. Idempotent; from one thread.

	long periodMs() const { return _periodMs; }
		/// Time between two collections.

private:
	void run();

	Poco::ThreadPool& _pool;
	long _periodMs;
	// std::thread rather than Poco::Thread: POCO (uninstrumented) signals a finished thread's
	// done event in a way TSan cannot see, and reports its destruction as a race.
	std::mutex _mutex;
	std::condition_variable _wake;
	bool _stopping = false;
	std::thread _thread;
};

} } // namespace ForwardOptimal::Proxy
