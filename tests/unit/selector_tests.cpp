#include "config/SettingsLoader.h"
#include "health/Selector.h"

#include <boost/test/unit_test.hpp>

using namespace ForwardOptimal;
using namespace ForwardOptimal::Health;
using Change = Selector::Change;

namespace {

Config::Settings settings(const std::string& extra = std::string())
{
	return *Config::SettingsLoader::loadText("{\"bindAddr\": \":1\", \"targets\": [\"10.0.0.1:1\", \"10.0.0.2:1\", \"10.0.0.3:1\"],"
		" \"updateInterval\": 1" + extra + "}", "t.json", {}).settings;
}

ProbeResult ok(double ms)
{
	ProbeResult r;
	r.ok = true;
	r.latencyMs = ms;
	return r;
}

ProbeResult failed(const std::string& why = "connection refused")
{
	ProbeResult r;
	r.error = why;
	return r;
}

// Targets with the given latencies, each healthy after one probe (-1 = down).
std::vector<TargetStatus> targets(const Config::Settings& s, std::vector<double> latencies)
{
	std::vector<TargetStatus> result(latencies.size());
	for (std::size_t i = 0; i < latencies.size(); ++i)
	{
		result[i].target = s.targets[i];
		Selector::apply(result[i], latencies[i] < 0 ? failed() : ok(latencies[i]), s, Poco::Timestamp());
	}
	return result;
}

} // namespace

BOOST_AUTO_TEST_SUITE(selector_tests)

BOOST_AUTO_TEST_CASE(first_probe_decides_at_once)
{
	Config::Settings s = settings(", \"rise\": 3, \"fall\": 3");
	TargetStatus up, down;
	BOOST_TEST((Selector::apply(up, ok(5), s, Poco::Timestamp()) == Change::UP));
	BOOST_TEST(up.healthy);
	BOOST_TEST((Selector::apply(down, failed(), s, Poco::Timestamp()) == Change::DOWN));
	BOOST_TEST(!down.healthy);
	BOOST_TEST(down.lastError == "connection refused");
}

BOOST_AUTO_TEST_CASE(a_probe_that_failed_for_a_local_reason_changes_nothing)
{
	// Out of descriptors here: nothing was learnt about the target, up or down.
	Config::Settings s = settings();
	auto t = targets(s, {5, -1});
	ProbeResult local = failed("Too many open files");
	local.local = true;
	TargetStatus up = t[0], down = t[1];
	BOOST_TEST((Selector::apply(t[0], local, s, Poco::Timestamp()) == Change::NONE));
	BOOST_TEST((Selector::apply(t[1], local, s, Poco::Timestamp()) == Change::NONE));
	BOOST_TEST(t[0].healthy);
	BOOST_TEST(t[0].consecutiveFailures == up.consecutiveFailures);
	BOOST_TEST(t[0].probes == up.probes);
	BOOST_TEST(t[0].lastError == up.lastError);
	BOOST_TEST(!t[1].healthy);
	BOOST_TEST(t[1].lastError == down.lastError);
	TargetStatus never;
	BOOST_TEST((Selector::apply(never, local, s, Poco::Timestamp()) == Change::NONE));
	BOOST_TEST(!never.probed);
}

BOOST_AUTO_TEST_CASE(ranks_healthy_targets_by_latency)
{
	Config::Settings s = settings();
	auto t = targets(s, {30, 5, 15});
	std::vector<std::size_t> expected = {1, 2, 0};
	BOOST_TEST(Selector::rank(t, std::nullopt, s) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(failed_target_leaves_the_ranking_at_once_by_default)
{
	Config::Settings s = settings();
	auto t = targets(s, {30, 5, 15});
	BOOST_TEST((Selector::apply(t[1], failed(), s, Poco::Timestamp()) == Change::DOWN));
	std::vector<std::size_t> expected = {2, 0};
	BOOST_TEST(Selector::rank(t, std::size_t(1), s) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(recovered_target_reenters_on_its_next_success_by_default)
{
	Config::Settings s = settings();
	auto t = targets(s, {-1, 5, 15});
	BOOST_TEST((Selector::apply(t[0], ok(1), s, Poco::Timestamp()) == Change::UP));
	std::vector<std::size_t> expected = {1, 0, 2}; // back in the ranking; 4 ms better is within the margin
	BOOST_TEST(Selector::rank(t, std::size_t(1), s) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(fall_counts_consecutive_failures)
{
	Config::Settings s = settings(", \"fall\": 3");
	auto t = targets(s, {5});
	BOOST_TEST((Selector::apply(t[0], failed(), s, Poco::Timestamp()) == Change::NONE));
	BOOST_TEST((Selector::apply(t[0], failed(), s, Poco::Timestamp()) == Change::NONE));
	BOOST_TEST(t[0].healthy);
	BOOST_TEST((Selector::apply(t[0], failed(), s, Poco::Timestamp()) == Change::DOWN));
	BOOST_TEST(t[0].consecutiveFailures == 3u);
}

BOOST_AUTO_TEST_CASE(a_success_resets_the_failure_count)
{
	Config::Settings s = settings(", \"fall\": 2");
	auto t = targets(s, {5});
	Selector::apply(t[0], failed(), s, Poco::Timestamp());
	Selector::apply(t[0], ok(5), s, Poco::Timestamp());
	BOOST_TEST((Selector::apply(t[0], failed(), s, Poco::Timestamp()) == Change::NONE));
	BOOST_TEST(t[0].healthy);
}

BOOST_AUTO_TEST_CASE(rise_counts_consecutive_successes)
{
	Config::Settings s = settings(", \"rise\": 2");
	auto t = targets(s, {-1});
	BOOST_TEST((Selector::apply(t[0], ok(5), s, Poco::Timestamp()) == Change::NONE));
	BOOST_TEST(!Selector::usable(t[0], s));
	BOOST_TEST((Selector::apply(t[0], ok(5), s, Poco::Timestamp()) == Change::UP));
}

BOOST_AUTO_TEST_CASE(smooths_latency_with_an_ewma)
{
	Config::Settings s = settings(", \"latencySmoothing\": 0.25");
	auto t = targets(s, {40});
	Selector::apply(t[0], ok(80), s, Poco::Timestamp());
	BOOST_TEST(t[0].smoothedLatencyMs == 50.0, boost::test_tools::tolerance(1e-9));
	BOOST_TEST(t[0].lastLatencyMs == 80.0);
}

BOOST_AUTO_TEST_CASE(smoothing_restarts_when_a_target_comes_back)
{
	Config::Settings s = settings(", \"latencySmoothing\": 0.25");
	auto t = targets(s, {400});
	Selector::apply(t[0], failed(), s, Poco::Timestamp());
	Selector::apply(t[0], ok(10), s, Poco::Timestamp());
	BOOST_TEST(t[0].smoothedLatencyMs == 10.0);
}

BOOST_AUTO_TEST_CASE(hysteresis_keeps_the_best_against_noise)
{
	Config::Settings s = settings(); // 5 ms or 10 %
	auto t = targets(s, {50, 47});
	BOOST_TEST(Selector::rank(t, std::size_t(0), s).front() == 0u); // 3 ms better: not enough
	std::vector<std::size_t> expected = {0, 1};
	BOOST_TEST(Selector::rank(t, std::size_t(0), s) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(hysteresis_switches_for_a_clear_improvement)
{
	Config::Settings s = settings();
	auto t = targets(s, {50, 40});
	BOOST_TEST(Selector::rank(t, std::size_t(0), s).front() == 1u);
}

BOOST_AUTO_TEST_CASE(percent_margin_applies_when_larger)
{
	Config::Settings s = settings(", \"switchMargin\": 1, \"switchMarginPercent\": 20");
	auto t = targets(s, {100, 85});
	BOOST_TEST(Selector::rank(t, std::size_t(0), s).front() == 0u); // 15 ms < 20 % of 100
	t = targets(s, {100, 75});
	BOOST_TEST(Selector::rank(t, std::size_t(0), s).front() == 1u);
}

BOOST_AUTO_TEST_CASE(zero_margin_is_strict_lowest_wins)
{
	Config::Settings s = settings(", \"switchMargin\": 0, \"switchMarginPercent\": 0, \"latencySmoothing\": 1");
	auto t = targets(s, {5.0, 4.9});
	BOOST_TEST(Selector::rank(t, std::size_t(0), s).front() == 1u);
}

BOOST_AUTO_TEST_CASE(degradation_overrides_heavy_smoothing_in_the_same_round)
{
	Config::Settings s = settings(", \"latencySmoothing\": 0.05");
	auto t = targets(s, {10, 30});
	Selector::apply(t[0], ok(160), s, Poco::Timestamp()); // smoothed only 17.5, but 160 >= 3 x 30
	BOOST_TEST(t[0].smoothedLatencyMs < t[1].smoothedLatencyMs);
	BOOST_TEST(Selector::rank(t, std::size_t(0), s).front() == 1u);
}

BOOST_AUTO_TEST_CASE(max_latency_makes_slow_targets_unfit)
{
	Config::Settings s = settings(", \"maxLatency\": 100");
	auto t = targets(s, {150, 90});
	std::vector<std::size_t> expected = {1};
	BOOST_TEST(Selector::rank(t, std::size_t(0), s) == expected, boost::test_tools::per_element());
	t = targets(s, {150});
	BOOST_TEST(Selector::rank(t, std::nullopt, s).empty());
	BOOST_TEST(t[0].healthy); // reachable, just too slow
}

BOOST_AUTO_TEST_CASE(passive_failure_takes_a_target_down_regardless_of_fall)
{
	Config::Settings s = settings(", \"fall\": 5");
	auto t = targets(s, {5, 10});
	BOOST_TEST((Selector::markFailed(t[0], "connect: connection refused", s, Poco::Timestamp()) == Change::DOWN));
	BOOST_TEST(!t[0].healthy);
	BOOST_TEST(t[0].lastError == "connect: connection refused");
	BOOST_TEST(Selector::rank(t, std::size_t(0), s).front() == 1u);
	BOOST_TEST((Selector::markFailed(t[0], "again", s, Poco::Timestamp()) == Change::NONE));
}

BOOST_AUTO_TEST_SUITE_END()
