#include "stats/LogThrottle.h"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <thread>
#include <vector>

using ForwardOptimal::Stats::LogThrottle;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(log_throttle_tests)

BOOST_AUTO_TEST_CASE(allows_the_first_and_then_once_per_period)
{
	LogThrottle throttle(200ms);
	BOOST_TEST(throttle.allow());
	BOOST_TEST(!throttle.allow());
	std::this_thread::sleep_for(250ms);
	BOOST_TEST(throttle.allow());
	BOOST_TEST(!throttle.allow());
}

BOOST_AUTO_TEST_CASE(only_one_of_many_concurrent_callers_is_allowed)
{
	LogThrottle throttle(std::chrono::hours(1));
	std::atomic<int> allowed{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < 8; ++t)
		threads.emplace_back([&] {
			for (int i = 0; i < 10000; ++i)
				allowed += throttle.allow();
		});
	for (auto& thread : threads)
		thread.join();
	BOOST_TEST(allowed == 1);
}

BOOST_AUTO_TEST_SUITE_END()
