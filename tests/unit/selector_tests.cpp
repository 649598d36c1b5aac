#include "config/SettingsLoader.h"
#include "health/Selector.h"

#include <boost/test/unit_test.hpp>

using namespace ForwardOptimal;
using namespace ForwardOptimal::Health;
using Change = Selector::Change;

namespace {

Config::Settings settings(const std::string& extra = std::string())
{
	return *Config::SettingsLoader::loadText("{\"bindAddr\": \":1\", \"targets\": [\"198.18.0.1:1\", \"198.18.0.2:1\", \"198.18.0.3:1\"],"
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

// ---- every address of a name ----

namespace {

Selector::AddressResult at(const std::string& address, const ProbeResult& result)
{
	return Selector::AddressResult{Poco::Net::SocketAddress(address), result};
}

TargetStatus name(const Config::Settings& s)
{
	TargetStatus status;
	status.target = s.targets[0];
	return status;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_name_is_healthy_while_one_of_its_addresses_is)
{
	Config::Settings s = settings();
	TargetStatus t = name(s);
	std::vector<Selector::AddressChange> changes;
	Change change = Selector::update(t, {at("198.18.0.1:22", failed("timeout after 5s")), at("[2001:db8::1]:22", ok(7))},
		"", s, Poco::Timestamp(), &changes);
	BOOST_TEST((change == Change::UP));
	BOOST_TEST(t.healthy);
	BOOST_TEST(t.addresses.size() == 2u);
	BOOST_TEST(t.address == "[2001:db8::1]:22");
	BOOST_TEST(t.smoothedLatencyMs == 7.0);
	std::vector<std::size_t> order = {1};
	BOOST_TEST(t.addressOrder == order, boost::test_tools::per_element());
	BOOST_TEST(changes.size() == 2u); // each address's first verdict
	BOOST_TEST(!t.addresses[0].healthy);
	BOOST_TEST(t.addresses[0].lastError == "timeout after 5s");
}

BOOST_AUTO_TEST_CASE(a_name_with_every_address_down_is_down_with_each_reason)
{
	Config::Settings s = settings();
	TargetStatus t = name(s);
	Change change = Selector::update(t, {at("198.18.0.1:22", failed("timeout after 5s")), at("198.18.0.2:22", failed())},
		"", s, Poco::Timestamp());
	BOOST_TEST((change == Change::DOWN));
	BOOST_TEST(!t.healthy);
	BOOST_TEST(t.lastError == "198.18.0.1:22: timeout after 5s; 198.18.0.2:22: connection refused");
	BOOST_TEST(t.addressOrder.empty());
}

BOOST_AUTO_TEST_CASE(addresses_are_tried_fastest_first)
{
	Config::Settings s = settings();
	TargetStatus t = name(s);
	Selector::update(t, {at("198.18.0.1:22", ok(40)), at("198.18.0.2:22", ok(5)), at("198.18.0.3:22", ok(20)),
		at("198.18.0.4:22", failed())}, "", s, Poco::Timestamp());
	std::vector<std::size_t> order = {1, 2, 0};
	BOOST_TEST(t.addressOrder == order, boost::test_tools::per_element());
	BOOST_TEST(t.bestAddress()->text == "198.18.0.2:22");
	BOOST_TEST(t.smoothedLatencyMs == 5.0);
}

BOOST_AUTO_TEST_CASE(near_equal_addresses_do_not_flap)
{
	Config::Settings s = settings();
	TargetStatus t = name(s);
	Selector::update(t, {at("198.18.0.1:22", ok(10)), at("198.18.0.2:22", ok(10.5))}, "", s, Poco::Timestamp());
	BOOST_TEST_REQUIRE(t.address == "198.18.0.1:22");
	for (int i = 0; i < 10; ++i)
	{
		double a = i % 2 ? 10.8 : 10.0, b = i % 2 ? 10.0 : 10.6;
		BOOST_TEST((Selector::update(t, {at("198.18.0.1:22", ok(a)), at("198.18.0.2:22", ok(b))}, "", s, Poco::Timestamp())
			== Change::NONE));
		BOOST_TEST(t.address == "198.18.0.1:22");
	}
	// A clearly faster address takes over.
	for (int i = 0; i < 5; ++i)
		Selector::update(t, {at("198.18.0.1:22", ok(40)), at("198.18.0.2:22", ok(5))}, "", s, Poco::Timestamp());
	BOOST_TEST(t.address == "198.18.0.2:22");
}

BOOST_AUTO_TEST_CASE(addresses_that_appear_or_disappear_are_added_or_dropped)
{
	Config::Settings s = settings();
	TargetStatus t = name(s);
	Selector::update(t, {at("198.18.0.1:22", ok(10)), at("198.18.0.2:22", ok(5))}, "", s, Poco::Timestamp());
	std::uint64_t probes = t.addresses[0].probes;
	std::vector<Selector::AddressChange> changes;
	Selector::update(t, {at("198.18.0.1:22", ok(10)), at("[2001:db8::3]:22", ok(20))}, "", s, Poco::Timestamp(), &changes);
	BOOST_TEST_REQUIRE(t.addresses.size() == 2u);
	BOOST_TEST(t.addresses[0].text == "198.18.0.1:22");
	BOOST_TEST(t.addresses[0].probes == probes + 1); // kept, with its history
	BOOST_TEST(t.addresses[1].text == "[2001:db8::3]:22");
	BOOST_TEST(t.addresses[1].probes == 1u);
	BOOST_TEST(t.address == "198.18.0.1:22"); // the old best is gone: the next fastest
	bool removed = false, added = false;
	for (const auto& c : changes)
	{
		removed = removed || (c.removed && c.address == "198.18.0.2:22");
		added = added || (c.change == Change::UP && c.address == "[2001:db8::3]:22");
	}
	BOOST_TEST(removed);
	BOOST_TEST(added);
}

BOOST_AUTO_TEST_CASE(a_name_that_stops_resolving_goes_down_with_the_dns_reason_and_comes_back)
{
	Config::Settings s = settings(", \"fall\": 1");
	TargetStatus t = name(s);
	Selector::update(t, {at("198.18.0.1:22", ok(10))}, "", s, Poco::Timestamp());
	BOOST_TEST_REQUIRE(t.healthy);
	BOOST_TEST((Selector::update(t, {}, "DNS: no answer within 1s: relay.test", s, Poco::Timestamp()) == Change::DOWN));
	BOOST_TEST(!t.healthy);
	BOOST_TEST(t.lastError == "DNS: no answer within 1s: relay.test");
	BOOST_TEST(t.addresses.empty());
	BOOST_TEST((Selector::update(t, {at("198.18.0.1:22", ok(12))}, "", s, Poco::Timestamp()) == Change::UP));
	BOOST_TEST(t.healthy);
	BOOST_TEST(t.dnsError.empty());
}

BOOST_AUTO_TEST_CASE(a_single_address_target_keeps_the_rules_of_a_target)
{
	Config::Settings s = settings(", \"fall\": 2");
	TargetStatus viaAddress = name(s);
	TargetStatus direct = name(s);
	for (const ProbeResult& r : {ok(10), ok(20), failed(), failed(), ok(5)})
	{
		Change a = Selector::update(viaAddress, {at("198.18.0.1:22", r)}, "", s, Poco::Timestamp());
		Change b = Selector::apply(direct, r, s, Poco::Timestamp());
		BOOST_TEST((a == b));
		BOOST_TEST(viaAddress.healthy == direct.healthy);
		BOOST_TEST(viaAddress.smoothedLatencyMs == direct.smoothedLatencyMs);
	}
}

BOOST_AUTO_TEST_CASE(a_failed_address_hands_over_to_the_next_and_the_name_stays_up)
{
	Config::Settings s = settings();
	TargetStatus t = name(s);
	Selector::update(t, {at("198.18.0.1:22", ok(5)), at("198.18.0.2:22", ok(9))}, "", s, Poco::Timestamp());
	std::string previous = t.address;
	BOOST_TEST((Selector::markFailed(t.addresses[0], "connect: Connection refused", s, Poco::Timestamp()) == Change::DOWN));
	BOOST_TEST((Selector::fold(t, previous, s, Poco::Timestamp(), false) == Change::NONE));
	BOOST_TEST(t.healthy);
	BOOST_TEST(t.address == "198.18.0.2:22");
	BOOST_TEST(t.smoothedLatencyMs == 9.0);
	BOOST_TEST((Selector::markFailed(t.addresses[1], "connect: Connection refused", s, Poco::Timestamp()) == Change::DOWN));
	BOOST_TEST((Selector::fold(t, t.address, s, Poco::Timestamp(), false) == Change::DOWN));
}

BOOST_AUTO_TEST_SUITE_END()
