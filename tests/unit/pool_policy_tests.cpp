// The pool's pacing decisions as plain classes with the time given: no sockets, no sleeps.
#include "pool/Backoff.h"
#include "pool/ConnectRate.h"
#include "pool/IdleStop.h"

#include <boost/test/unit_test.hpp>

using namespace ForwardOptimal::Pool;
using namespace std::chrono_literals;

namespace {

const Backoff::Clock::time_point T0 = Backoff::Clock::now();

} // namespace

BOOST_AUTO_TEST_SUITE(pool_policy_tests)

BOOST_AUTO_TEST_CASE(backoff_starts_at_a_second_doubles_and_stops_at_a_minute)
{
	Backoff backoff;
	BOOST_TEST(backoff.ready(T0));
	BOOST_TEST(backoff.delay().count() == 0);
	std::vector<long> delays;
	for (int i = 0; i < 9; ++i)
	{
		backoff.failed(backoff.ready(T0) ? T0 : backoff.until()); // each at the end of the last wait
		delays.push_back(static_cast<long>(backoff.delay().count()));
	}
	BOOST_TEST(delays == (std::vector<long>{1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000}), boost::test_tools::per_element());
	BOOST_TEST(backoff.failures() == 9u);
	BOOST_TEST(!backoff.ready(backoff.until() - 1ms));
	BOOST_TEST(backoff.ready(backoff.until()));
}

BOOST_AUTO_TEST_CASE(failures_found_during_a_wait_are_the_same_attempt)
{
	Backoff backoff;
	backoff.failed(T0);         // the first of two sockets opened together is refused...
	backoff.failed(T0 + 2ms);   // ...and the second one
	BOOST_TEST(backoff.delay().count() == 1000);
	BOOST_TEST(backoff.failures() == 1u);
	backoff.failed(T0 + 1s);    // the next attempt fails too
	BOOST_TEST(backoff.delay().count() == 2000);
}

BOOST_AUTO_TEST_CASE(backoff_waits_from_the_last_failure_and_a_served_client_resets_it)
{
	Backoff backoff;
	backoff.failed(T0);
	BOOST_TEST(!backoff.ready(T0 + 999ms));
	BOOST_TEST(backoff.ready(T0 + 1s));
	backoff.failed(T0 + 1s);
	BOOST_TEST((backoff.until() == T0 + 3s));
	backoff.reset();
	BOOST_TEST(backoff.ready(T0 + 1s));
	backoff.failed(T0 + 5s);
	BOOST_TEST(backoff.delay().count() == 1000); // from the start again
}

BOOST_AUTO_TEST_CASE(connect_rate_allows_so_many_in_any_second)
{
	ConnectRate rate(4);
	for (int i = 0; i < 4; ++i)
		BOOST_TEST(rate.allow(T0 + i * 10ms));
	BOOST_TEST(!rate.allow(T0 + 50ms));
	BOOST_TEST((rate.nextAllowed(T0 + 50ms) == T0 + 1s));
	BOOST_TEST(!rate.allow(T0 + 999ms));
	BOOST_TEST(rate.allow(T0 + 1s));          // the first one left the window
	BOOST_TEST(!rate.allow(T0 + 1s + 5ms));   // the second is still in it
	BOOST_TEST(rate.allow(T0 + 1s + 10ms));
}

BOOST_AUTO_TEST_CASE(a_storm_is_capped_at_the_rate_over_a_minute)
{
	ConnectRate rate(4);
	int allowed = 0;
	for (auto t = T0; t < T0 + 60s; t += 1ms) // a caller that would connect every millisecond
		allowed += rate.allow(t) ? 1 : 0;
	BOOST_TEST(allowed == 240);
}

BOOST_AUTO_TEST_CASE(clients_served_from_the_pool_earn_replacements_outside_the_cap)
{
	ConnectRate rate(4);
	for (int i = 0; i < 4; ++i)
		BOOST_TEST(rate.allow(T0 + i * 10ms));
	BOOST_TEST(!rate.allow(T0 + 50ms));        // the window is full
	rate.credit();                              // a client took a pooled socket
	BOOST_TEST((rate.nextAllowed(T0 + 50ms) == T0 + 50ms));
	BOOST_TEST(rate.allow(T0 + 50ms));         // its replacement goes at once
	BOOST_TEST(!rate.allow(T0 + 60ms));        // and only one
	// Credits are kept up to the rate: a burst of clients does not bank a storm.
	for (int i = 0; i < 100; ++i)
		rate.credit();
	int allowed = 0;
	while (rate.allow(T0 + 70ms))
		++allowed;
	BOOST_TEST(allowed == 4);
}

BOOST_AUTO_TEST_CASE(idle_stop_starts_cold_and_a_client_warms_it)
{
	IdleStop stop(120s);
	BOOST_TEST(!stop.warm(T0));                // no client yet: an idle proxy opens nothing
	BOOST_TEST(!stop.warm(T0 + 24h));
	BOOST_TEST(!stop.everWarmed());
	BOOST_TEST(!stop.coolsAt().has_value());   // nothing to wake up for
	stop.clientArrived(T0 + 10s);
	BOOST_TEST(stop.warm(T0 + 10s));
	BOOST_TEST(stop.everWarmed());
}

BOOST_AUTO_TEST_CASE(idle_stop_goes_cold_after_the_set_time_without_a_client)
{
	IdleStop stop(120s);
	stop.clientArrived(T0);
	BOOST_TEST(stop.warm(T0));
	BOOST_TEST(stop.warm(T0 + 119s));
	BOOST_TEST(!stop.warm(T0 + 120s));
	BOOST_TEST((*stop.coolsAt() == T0 + 120s));
	stop.clientArrived(T0 + 200s);             // the next client wakes it
	BOOST_TEST(stop.warm(T0 + 200s));
	BOOST_TEST(!stop.warm(T0 + 320s));
}

BOOST_AUTO_TEST_CASE(idle_stop_zero_never_goes_cold)
{
	IdleStop stop(0s);
	BOOST_TEST(stop.warm(T0));                 // warm from the start: the pool never stops
	BOOST_TEST(stop.warm(T0 + 24h));
	BOOST_TEST(!stop.coolsAt().has_value());
}

BOOST_AUTO_TEST_SUITE_END()
