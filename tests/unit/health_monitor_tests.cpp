#include "config/SettingsLoader.h"
#include "health/HealthMonitor.h"

#include "CapturingChannel.h"
#include "FakeProber.h"
#include "FakeResolver.h"
#include "TestSupport.h"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <thread>

using namespace ForwardOptimal;
using namespace ForwardOptimal::Test;

namespace {

const std::string A = "198.18.0.1:1", B = "198.18.0.2:1", C = "198.18.0.3:1";

std::shared_ptr<const Config::Settings> settings(const std::string& extra = std::string())
{
	return Config::SettingsLoader::loadText("{\"bindAddr\": \":1\", \"targets\": [\"" + A + "\", \"" + B + "\", \"" + C + "\"],"
		" \"updateInterval\": 3600, \"failureInterval\": 0.05" + extra + "}", "t.json", {}).settings;
}

std::string best(const Health::HealthMonitor& monitor)
{
	auto pSnapshot = monitor.snapshot();
	return pSnapshot->best() ? pSnapshot->best()->target.toString() : std::string("none");
}

struct Fixture
{
	Fixture(): log(CapturingChannel::attach("ForwardOptimal.Health.Monitor")) {}
	FakeProber prober;
	Poco::AutoPtr<CapturingChannel> log;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(health_monitor_tests, Fixture)

BOOST_AUTO_TEST_CASE(first_round_publishes_the_fastest_target)
{
	prober.up(A, 30);
	prober.up(B, 5);
	prober.up(C, 15);
	Health::HealthMonitor monitor(settings(), prober);
	BOOST_TEST(monitor.snapshot()->paused()); // nothing known before the first round
	monitor.start();
	BOOST_TEST(best(monitor) == B);
	std::vector<std::size_t> expected = {1, 2, 0};
	BOOST_TEST(monitor.snapshot()->ranking == expected, boost::test_tools::per_element());
	BOOST_TEST(monitor.snapshot()->round == 1u);
	BOOST_TEST(log->text().find("🎯 最优目标: " + B) != std::string::npos, log->text());
	BOOST_TEST(log->text().find("节点健康检查报告") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(probes_run_concurrently_within_a_round)
{
	// Every target answers; all three are probed in the single round.
	prober.up(A, 1);
	prober.up(B, 1);
	prober.up(C, 1);
	Health::HealthMonitor monitor(settings(), prober);
	monitor.runRound();
	BOOST_TEST(prober.probes() == 3);
}

BOOST_AUTO_TEST_CASE(pauses_when_everything_is_down_and_resumes_at_the_failure_interval)
{
	Health::HealthMonitor monitor(settings(), prober);
	monitor.start();
	BOOST_TEST(monitor.snapshot()->paused());
	BOOST_TEST(monitor.nextInterval().count() == 50);
	BOOST_TEST(log->count("⏸️ 服务暂停") == 1u, log->text());

	// Only the failure interval (50 ms) can notice the recovery: the update interval is an hour.
	BOOST_TEST(waitFor([&] { return prober.probes() >= 9; }, 10s)); // it keeps probing while paused
	BOOST_TEST(log->count("⏸️ 服务暂停") == 1u, log->text());    // and says so once, not every round
	prober.up(C, 7);
	BOOST_TEST(waitFor([&] { return best(monitor) == C; }, 10s));
	BOOST_TEST(monitor.nextInterval().count() == 3600000);
	BOOST_TEST(waitFor([&] { return log->text().find("▶️ 服务恢复: 最优目标 " + C) != std::string::npos; }, 5s), log->text());

	// Back on the update interval: no more rounds for an hour.
	int probes = prober.probes();
	std::this_thread::sleep_for(300ms);
	BOOST_TEST(prober.probes() == probes);
}

BOOST_AUTO_TEST_CASE(logs_each_state_change_on_its_own_line)
{
	prober.up(A, 10);
	prober.up(B, 20);
	Health::HealthMonitor monitor(settings(), prober);
	monitor.runRound();
	BOOST_TEST(log->text().find("🟢 节点上线: " + A) != std::string::npos, log->text());
	BOOST_TEST(log->text().find("🔴 节点离线: " + C + " (原因: connection refused)") != std::string::npos, log->text());
	prober.down(A, "timeout after 5s");
	monitor.runRound();
	BOOST_TEST(log->text().find("🔴 节点离线: " + A + " (原因: timeout after 5s)") != std::string::npos, log->text());
	BOOST_TEST(log->text().find("🔀 最优目标切换: " + A + " → " + B) != std::string::npos, log->text());
}

BOOST_AUTO_TEST_CASE(a_probe_that_cannot_be_made_here_neither_pauses_nor_blames_the_target)
{
	prober.up(A, 10);
	Health::HealthMonitor monitor(settings(), prober);
	monitor.runRound();
	BOOST_TEST(best(monitor) == A);
	prober.cannotProbe(A);
	monitor.runRound();
	BOOST_TEST(best(monitor) == A);
	BOOST_TEST(!monitor.snapshot()->paused());
	BOOST_TEST(log->text().find("🔴 节点离线: " + A) == std::string::npos, log->text());
	BOOST_TEST(log->text().find("⚠️  无法探测 " + A + ": Too many open files (本进程资源不足") != std::string::npos, log->text());
}

BOOST_AUTO_TEST_CASE(noise_does_not_flap_the_best_target)
{
	prober.up(A, 50);
	prober.up(B, 52);
	Health::HealthMonitor monitor(settings(), prober);
	for (int round = 0; round < 20; ++round)
	{
		prober.up(A, round % 2 ? 53 : 49);
		prober.up(B, round % 2 ? 48 : 52);
		monitor.runRound();
		BOOST_TEST(best(monitor) == A);
	}
	BOOST_TEST(log->count("🔀") == 0u, log->text());
}

BOOST_AUTO_TEST_CASE(a_clearly_slower_best_is_replaced_in_the_same_round)
{
	prober.up(A, 5);
	prober.up(B, 15);
	prober.up(C, 30);
	Health::HealthMonitor monitor(settings(), prober);
	monitor.runRound();
	BOOST_TEST(best(monitor) == A);
	prober.up(A, 80);
	monitor.runRound();
	BOOST_TEST(best(monitor) == B);
}

BOOST_AUTO_TEST_CASE(passive_failure_switches_at_once_and_brings_the_next_round_forward)
{
	prober.up(A, 5);
	prober.up(B, 15);
	Health::HealthMonitor monitor(settings(), prober);
	monitor.start();
	int probes = prober.probes();
	monitor.reportFailure(Config::Endpoint::parseTarget(A), "connection refused");
	BOOST_TEST(best(monitor) == B); // before any probe
	BOOST_TEST(log->text().find("🔴 节点离线: " + A + " (原因: connection refused, 转发时发现)") != std::string::npos, log->text());
	// The update interval is an hour, so only the extra round can probe again.
	BOOST_TEST(waitFor([&] { return prober.probes() >= probes + 3; }, 10s));
	BOOST_TEST(waitFor([&] { return best(monitor) == A; }, 10s)); // A still answers probes: back on top
}

BOOST_AUTO_TEST_CASE(a_storm_of_passive_failures_costs_few_rounds)
{
	prober.up(A, 5);
	Health::HealthMonitor monitor(settings(), prober);
	monitor.start();
	for (int i = 0; i < 200; ++i)
		monitor.reportFailure(Config::Endpoint::parseTarget(A), "connection refused");
	std::this_thread::sleep_for(500ms);
	// At most the first round plus one extra in this half second (extra rounds are >= 1 s apart).
	BOOST_TEST(prober.probes() <= 6);
}

BOOST_AUTO_TEST_CASE(snapshots_stay_consistent_under_concurrent_readers)
{
	Health::HealthMonitor monitor(settings(", \"maxLatency\": 100"), prober);
	std::atomic<bool> stop{false};
	std::atomic<int> violations{0};
	std::atomic<long> reads{0};
	std::vector<std::thread> readers;
	for (int r = 0; r < 4; ++r)
		readers.emplace_back([&] {
			while (!stop)
			{
				auto pSnapshot = monitor.snapshot();
				for (std::size_t i = 0; i < pSnapshot->ranking.size(); ++i)
				{
					const auto& status = pSnapshot->targets.at(pSnapshot->ranking[i]);
					if (!status.healthy || status.smoothedLatencyMs > 100)
						++violations;
				}
				if (pSnapshot->paused() != (pSnapshot->best() == nullptr))
					++violations;
				++reads;
			}
		});
	for (int round = 0; round < 200; ++round)
	{
		(round % 3 ? prober.up(A, round % 150) : prober.down(A));
		(round % 5 ? prober.up(B, 40) : prober.down(B));
		(round % 7 ? prober.down(C) : prober.up(C, 1));
		monitor.runRound();
		if (round % 10 == 0)
			monitor.reportFailure(Config::Endpoint::parseTarget(B), "refused");
	}
	stop = true;
	for (auto& reader : readers)
		reader.join();
	BOOST_TEST(violations == 0);
	BOOST_TEST(reads > 0);
	BOOST_TEST(monitor.snapshot()->round == 200u);
}

BOOST_AUTO_TEST_CASE(stop_is_prompt_and_idempotent)
{
	Health::HealthMonitor monitor(settings(), prober); // all down: rounds every 50 ms
	monitor.start();
	monitor.stop();
	int probes = prober.probes();
	std::this_thread::sleep_for(200ms);
	BOOST_TEST(prober.probes() == probes);
	monitor.stop();
}

// ---- names with several addresses ----

namespace {

const std::string NAME = "relay.test:22";
const std::string V4 = "198.18.0.1:22", V6 = "[2001:db8::1]:22", V4B = "198.18.0.2:22";

std::shared_ptr<const Config::Settings> nameSettings()
{
	return Config::SettingsLoader::loadText("{\"bindAddr\": \":1\", \"targets\": [\"" + NAME + "\", \"" + C + "\"],"
		" \"updateInterval\": 3600, \"failureInterval\": 0.05}", "t.json", {}).settings;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_name_is_served_by_its_address_that_answers)
{
	auto pResolver = std::make_shared<FakeResolver>();
	pResolver->set(NAME, {V4, V6});
	prober.down(V4, "timeout after 5s");
	prober.up(V6, 3);
	Health::HealthMonitor monitor(nameSettings(), prober, nullptr, pResolver);
	monitor.runRound();
	auto pSnapshot = monitor.snapshot();
	BOOST_TEST_REQUIRE(best(monitor) == NAME);
	BOOST_TEST(pSnapshot->best()->address == V6);
	BOOST_TEST(log->text().find("🟢 节点上线: " + NAME + " (延迟: 3ms)") != std::string::npos, log->text());
	BOOST_TEST(log->text().find("🔴 地址离线: " + NAME + " → " + V4 + " (原因: timeout after 5s)") != std::string::npos, log->text());
	BOOST_TEST(log->text().find("↳ ✅ 在线 " + V6 + " (延迟: 3ms) ← 当前使用") != std::string::npos, log->text());
	BOOST_TEST(log->text().find("↳ ❌ 离线 " + V4 + " (原因: timeout after 5s)") != std::string::npos, log->text());
}

BOOST_AUTO_TEST_CASE(a_literal_target_never_reaches_the_resolver)
{
	auto pResolver = std::make_shared<FakeResolver>();
	prober.up(C, 4);
	Health::HealthMonitor monitor(nameSettings(), prober, nullptr, pResolver);
	monitor.runRound();
	monitor.runRound();
	BOOST_TEST(pResolver->lookups() == 2); // the name, twice; never C
	BOOST_TEST(best(monitor) == C);
	BOOST_TEST(log->text().find("🔴 节点离线: " + NAME + " (原因: DNS: Name or service not known: relay.test)") != std::string::npos,
		log->text());
}

BOOST_AUTO_TEST_CASE(a_failed_address_moves_the_name_to_its_next_address_and_wakes_the_listener)
{
	auto pResolver = std::make_shared<FakeResolver>();
	pResolver->set(NAME, {V4, V4B});
	prober.up(V4, 2);
	prober.up(V4B, 8);
	Health::HealthMonitor monitor(nameSettings(), prober, nullptr, pResolver);
	monitor.runRound();
	BOOST_TEST_REQUIRE(monitor.snapshot()->best()->address == V4);
	std::atomic<int> notified{0};
	monitor.onBestChange([&] { ++notified; });
	monitor.reportFailure(Config::Endpoint::parseTarget(NAME), "connect: Connection refused", V4);
	BOOST_TEST(best(monitor) == NAME); // still up, on its other address
	BOOST_TEST(monitor.snapshot()->best()->address == V4B);
	BOOST_TEST(notified.load() == 1); // a new best address is a new best target for the pool
	BOOST_TEST(log->text().find("🔴 地址离线: " + NAME + " → " + V4 + " (原因: connect: Connection refused, 转发时发现)")
		!= std::string::npos, log->text());
	BOOST_TEST(log->text().find("🔀 最优地址切换: " + NAME + ": " + V4 + " → " + V4B) != std::string::npos, log->text());
	monitor.onBestChange(nullptr);
}

BOOST_AUTO_TEST_CASE(an_address_that_leaves_the_name_is_dropped_at_the_next_round)
{
	auto pResolver = std::make_shared<FakeResolver>();
	pResolver->set(NAME, {V4, V4B});
	prober.up(V4, 2);
	prober.up(V4B, 8);
	Health::HealthMonitor monitor(nameSettings(), prober, nullptr, pResolver);
	monitor.runRound();
	BOOST_TEST_REQUIRE(monitor.snapshot()->targets[0].addresses.size() == 2u);
	pResolver->set(NAME, {V4B});
	monitor.runRound();
	auto pSnapshot = monitor.snapshot();
	BOOST_TEST_REQUIRE(pSnapshot->targets[0].addresses.size() == 1u);
	BOOST_TEST(pSnapshot->targets[0].address == V4B);
	BOOST_TEST(log->text().find("➖ 地址移除: " + NAME + " → " + V4) != std::string::npos, log->text());
}

BOOST_AUTO_TEST_SUITE_END()
