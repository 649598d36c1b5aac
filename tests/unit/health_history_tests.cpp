// The history ring that /status and the status page show (issue 15.3): bounded at the last 120
// rounds and 50 state changes, oldest first, published with each snapshot without copying.
#include "config/SettingsLoader.h"
#include "health/HealthMonitor.h"

#include "CapturingChannel.h"
#include "FakeProber.h"

#include <boost/test/unit_test.hpp>

using namespace ForwardOptimal;
using namespace ForwardOptimal::Test;

namespace {

const std::string A = "198.18.0.1:1", B = "198.18.0.2:1";

std::shared_ptr<const Config::Settings> settings()
{
	return Config::SettingsLoader::loadText("{\"bindAddr\": \":1\", \"targets\": [\"" + A + "\", \"" + B + "\"],"
		" \"updateInterval\": 3600, \"rise\": 1, \"fall\": 1}", "t.json", {}).settings;
}

struct Fixture
{
	Fixture(): log(CapturingChannel::attach("ForwardOptimal.Health.Monitor")) {}
	FakeProber prober;
	Poco::AutoPtr<CapturingChannel> log;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(health_history_tests, Fixture)

BOOST_AUTO_TEST_CASE(with_appends_and_drops_the_oldest_beyond_the_bounds)
{
	auto pHistory = std::make_shared<const Health::HealthHistory>();
	for (std::uint64_t i = 1; i <= 130; ++i)
	{
		auto pRound = std::make_shared<Health::RoundRecord>();
		pRound->round = i;
		std::vector<Health::StateChange> changes(1);
		changes[0].reason = std::to_string(i);
		auto pNext = pHistory->with(pRound, changes);
		BOOST_TEST(pHistory->rounds().size() == std::min<std::size_t>(i - 1, 120)); // the old one is unchanged
		pHistory = pNext;
	}
	BOOST_TEST(pHistory->rounds().size() == Health::HealthHistory::MAX_ROUNDS);
	BOOST_TEST(pHistory->rounds().front()->round == 11u);
	BOOST_TEST(pHistory->rounds().back()->round == 130u);
	BOOST_TEST(pHistory->changes().size() == Health::HealthHistory::MAX_CHANGES);
	BOOST_TEST(pHistory->changes().front()->reason == "81");
	BOOST_TEST(pHistory->changes().back()->reason == "130");
	// a change without a round (a failure found by forwarding) adds no round
	auto pOnlyChange = pHistory->with(nullptr, {Health::StateChange()});
	BOOST_TEST(pOnlyChange->rounds().size() == 120u);
	BOOST_TEST(pOnlyChange->rounds().back() == pHistory->rounds().back()); // shared, not copied
}

BOOST_AUTO_TEST_CASE(the_monitor_records_rounds_and_changes_in_order)
{
	prober.up(A, 3);
	prober.up(B, 9);
	Health::HealthMonitor monitor(settings(), prober);
	monitor.runRound();
	auto pFirst = monitor.snapshot();
	BOOST_TEST_REQUIRE(pFirst->pHistory->rounds().size() == 1u);
	const Health::RoundRecord& round = *pFirst->pHistory->rounds().front();
	BOOST_TEST(round.round == 1u);
	BOOST_TEST(round.up == std::vector<bool>({true, true}), boost::test_tools::per_element());
	BOOST_TEST(round.latencyMs == std::vector<double>({3, 9}), boost::test_tools::per_element());
	// A up, B up, then A best: in that order
	std::vector<std::string> seen;
	for (const auto& pChange : pFirst->pHistory->changes())
		seen.push_back(std::string(Health::StateChange::name(pChange->kind)) + " " + pChange->target);
	std::vector<std::string> expected = {"up " + A, "up " + B, "best " + A};
	BOOST_TEST(seen == expected, boost::test_tools::per_element());
	BOOST_TEST(pFirst->pHistory->changes().back()->reason.find("vs " + B) != std::string::npos,
		pFirst->pHistory->changes().back()->reason);

	// A flaps 200 times: the ring keeps the last 120 rounds and 50 changes, oldest first
	for (int i = 0; i < 200; ++i)
	{
		if (i % 2 == 1)
			prober.down(A, "connection refused");
		else
			prober.up(A, 3);
		monitor.runRound();
	}
	auto pLast = monitor.snapshot();
	const auto& rounds = pLast->pHistory->rounds();
	BOOST_TEST(rounds.size() == 120u);
	BOOST_TEST(rounds.front()->round == 82u);
	BOOST_TEST(rounds.back()->round == 201u);
	for (std::size_t i = 1; i < rounds.size(); ++i)
		BOOST_TEST(rounds[i]->round == rounds[i - 1]->round + 1);
	BOOST_TEST(rounds.back()->up[0] == false); // the last (200th) flap took A down
	BOOST_TEST(rounds.back()->latencyMs[0] == -1);
	const auto& changes = pLast->pHistory->changes();
	BOOST_TEST(changes.size() == 50u);
	for (std::size_t i = 1; i < changes.size(); ++i)
		BOOST_TEST(changes[i]->at.epochMicroseconds() >= changes[i - 1]->at.epochMicroseconds());
	BOOST_TEST(Health::StateChange::name(changes.back()->kind) == std::string("best"));
	BOOST_TEST(changes.back()->target == B);
	BOOST_TEST(Health::StateChange::name(changes[changes.size() - 2]->kind) == std::string("down"));
	BOOST_TEST(changes[changes.size() - 2]->reason == "connection refused");
	// the first snapshot's history is what it was
	BOOST_TEST(pFirst->pHistory->rounds().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_failure_found_by_forwarding_is_a_change_without_a_round)
{
	prober.up(A, 3);
	Health::HealthMonitor monitor(settings(), prober);
	monitor.runRound();
	monitor.reportFailure(Config::Endpoint::parseTarget(A), "connection refused");
	auto pHistory = monitor.snapshot()->pHistory;
	BOOST_TEST(pHistory->rounds().size() == 1u);
	BOOST_TEST(Health::StateChange::name(pHistory->changes().back()->kind) == std::string("paused"));
	BOOST_TEST(pHistory->changes()[pHistory->changes().size() - 2]->reason.find("found by forwarding") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
