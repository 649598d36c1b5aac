#include "pool/IdleLifetime.h"

#include <boost/test/unit_test.hpp>

using ForwardOptimal::Pool::IdleLifetime;
using namespace std::chrono_literals;

namespace {

// Time given explicitly: the learner takes `now` from its caller, so no test here sleeps.
const IdleLifetime::Clock::time_point T0 = IdleLifetime::Clock::now();

} // namespace

BOOST_AUTO_TEST_SUITE(idle_lifetime_tests)

BOOST_AUTO_TEST_CASE(learns_a_lifetime_from_two_closures_a_lifetime_apart)
{
	IdleLifetime lifetime;
	BOOST_TEST(!lifetime.closedByPeer(400ms, T0));
	BOOST_TEST(!lifetime.lifetime(T0).has_value()); // one closure is no evidence
	BOOST_TEST(lifetime.maxIdle(10s, T0).count() == 10000);
	BOOST_TEST(lifetime.closedByPeer(430ms, T0 + 420ms)); // the replacements, closed at the same age
	BOOST_REQUIRE(lifetime.lifetime(T0 + 420ms).has_value());
	BOOST_TEST(lifetime.lifetime(T0 + 420ms)->count() == 400);
	BOOST_TEST(lifetime.maxIdle(10s, T0 + 420ms).count() == 200); // half the server's window
	BOOST_TEST(lifetime.maxIdle(100ms, T0 + 420ms).count() == 100); // never longer than configured
}

BOOST_AUTO_TEST_CASE(a_restart_that_closes_everything_at_once_teaches_nothing)
{
	IdleLifetime lifetime;
	// One batch found by two checks a few milliseconds apart.
	lifetime.closedByPeer(3000ms, T0);
	lifetime.closedByPeer(3010ms, T0 + 10ms);
	BOOST_TEST(!lifetime.lifetime(T0 + 10ms).has_value());
	// Another restart an hour later, at a similar age by chance: too far apart to be one cause.
	lifetime.closedByPeer(3000ms, T0 + 1h);
	BOOST_TEST(!lifetime.lifetime(T0 + 1h).has_value());
}

BOOST_AUTO_TEST_CASE(closures_at_different_ages_teach_nothing)
{
	IdleLifetime lifetime;
	lifetime.closedByPeer(1000ms, T0);
	lifetime.closedByPeer(5000ms, T0 + 2s); // a restart after the first closure
	BOOST_TEST(!lifetime.lifetime(T0 + 2s).has_value());
	lifetime.closedByPeer(5100ms, T0 + 7s); // and then the server's real timeout again
	BOOST_REQUIRE(lifetime.lifetime(T0 + 7s).has_value());
	BOOST_TEST(lifetime.lifetime(T0 + 7s)->count() == 5000);
}

BOOST_AUTO_TEST_CASE(a_shorter_timeout_replaces_the_learned_one_and_a_longer_one_does_not)
{
	IdleLifetime lifetime;
	lifetime.closedByPeer(4000ms, T0);
	lifetime.closedByPeer(4000ms, T0 + 4s);
	BOOST_TEST(lifetime.lifetime(T0 + 4s)->count() == 4000);
	// The server now closes at 1 s, before the pool's 2 s.
	lifetime.closedByPeer(1000ms, T0 + 5s);
	BOOST_TEST(lifetime.closedByPeer(1000ms, T0 + 6s));
	BOOST_TEST(lifetime.lifetime(T0 + 6s)->count() == 1000);
	BOOST_TEST(lifetime.maxIdle(10s, T0 + 6s).count() == 500);
	// A longer closure age only comes from a restart while learned: it never lengthens it.
	lifetime.closedByPeer(3000ms, T0 + 7s);
	lifetime.closedByPeer(3000ms, T0 + 10s);
	BOOST_TEST(lifetime.lifetime(T0 + 10s)->count() == 1000);
}

BOOST_AUTO_TEST_CASE(is_forgotten_after_ten_minutes_and_relearned_quietly)
{
	IdleLifetime lifetime;
	lifetime.closedByPeer(2000ms, T0);
	BOOST_TEST(lifetime.closedByPeer(2000ms, T0 + 2s)); // news: worth a log line
	auto later = T0 + 2s + IdleLifetime::FORGET_AFTER;
	BOOST_TEST(!lifetime.lifetime(later).has_value());
	BOOST_TEST(lifetime.maxIdle(10s, later).count() == 10000);
	lifetime.closedByPeer(2000ms, later);
	BOOST_TEST(!lifetime.closedByPeer(2100ms, later + 2s)); // the same as before: no news
	BOOST_TEST(lifetime.lifetime(later + 2s)->count() == 2000);
}

BOOST_AUTO_TEST_CASE(ignores_a_zero_age)
{
	IdleLifetime lifetime;
	BOOST_TEST(!lifetime.closedByPeer(0ms, T0));
	BOOST_TEST(!lifetime.closedByPeer(0ms, T0 + 1s));
	BOOST_TEST(!lifetime.lifetime(T0 + 1s).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
