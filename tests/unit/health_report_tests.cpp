#include "config/SettingsLoader.h"
#include "health/HealthReport.h"
#include "health/Selector.h"

#include <boost/test/unit_test.hpp>

using namespace ForwardOptimal;
using namespace ForwardOptimal::Health;

namespace {

Config::Settings settings(const std::string& extra = std::string())
{
	return *Config::SettingsLoader::loadText("{\"bindAddr\": \":8080\", \"targets\": [\"143.198.210.114:14\", \"45.207.219.191:22\"],"
		" \"updateInterval\": 60, \"failureInterval\": 10" + extra + "}", "t.json", {}).settings;
}

HealthSnapshot snapshot(const Config::Settings& s, std::vector<ProbeResult> results)
{
	HealthSnapshot snap;
	for (std::size_t i = 0; i < results.size(); ++i)
	{
		TargetStatus status;
		status.target = s.targets[i];
		Selector::apply(status, results[i], s, Poco::Timestamp());
		snap.targets.push_back(status);
	}
	snap.ranking = Selector::rank(snap.targets, std::nullopt, s);
	return snap;
}

ProbeResult ok(double ms)
{
	ProbeResult r;
	r.ok = true;
	r.latencyMs = ms;
	return r;
}

ProbeResult refused()
{
	ProbeResult r;
	r.error = "connection refused";
	return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(health_report_tests)

BOOST_AUTO_TEST_CASE(formats_latency_readably)
{
	BOOST_TEST(HealthReport::latency(50) == "50ms");
	BOOST_TEST(HealthReport::latency(123.4) == "123ms");
	BOOST_TEST(HealthReport::latency(0.4242) == "0.42ms");
	BOOST_TEST(HealthReport::latency(12.5) == "12.5ms");
	BOOST_TEST(HealthReport::latency(3.1) == "3.1ms");
	BOOST_TEST(HealthReport::seconds(std::chrono::milliseconds(60000)) == "60");
	BOOST_TEST(HealthReport::seconds(std::chrono::milliseconds(500)) == "0.5");
}

BOOST_AUTO_TEST_CASE(report_matches_the_specs_sample_while_serving)
{
	Config::Settings s = settings(", \"proxyProtocol\": \"v2\"");
	std::string report = HealthReport::render(snapshot(s, {ok(50), ok(80)}), s, s.updateInterval);
	for (const char* line : {"\n==============================\n节点健康检查报告 - ",
			"\n✓ 最优目标: 143.198.210.114:14 (延迟: 50ms)\n", "\n✓ 健康节点: 2/2\n", "\n✓ 服务状态: 正常运行\n",
			"\n✓ 下次检查: 60秒后\n", "\n✓ Proxy Protocol: v2\n", "\n--- 节点详细状态 ---\n",
			"\n  ✅ 在线 143.198.210.114:14 (延迟: 50ms)\n", "\n  ✅ 在线 45.207.219.191:22 (延迟: 80ms)\n==============================" })
		BOOST_TEST(report.find(line) != std::string::npos, line << "\nin:" << report);
}

BOOST_AUTO_TEST_CASE(report_shows_the_pause_and_the_reasons)
{
	Config::Settings s = settings();
	std::string report = HealthReport::render(snapshot(s, {refused(), refused()}), s, s.failureInterval);
	BOOST_TEST(report.find("✗ 最优目标: 无") != std::string::npos, report);
	BOOST_TEST(report.find("✗ 健康节点: 0/2") != std::string::npos, report);
	BOOST_TEST(report.find("✗ 服务状态: 已暂停") != std::string::npos, report);
	BOOST_TEST(report.find("✓ 下次检查: 10秒后") != std::string::npos, report);
	BOOST_TEST(report.find("✓ Proxy Protocol: 未启用") != std::string::npos, report);
	BOOST_TEST(report.find("❌ 离线 45.207.219.191:22 (原因: connection refused)") != std::string::npos, report);
}

BOOST_AUTO_TEST_CASE(report_marks_targets_over_the_latency_ceiling)
{
	Config::Settings s = settings(", \"maxLatency\": 60");
	std::string report = HealthReport::render(snapshot(s, {ok(50), ok(80)}), s, s.updateInterval);
	BOOST_TEST(report.find("⚠️ 过慢 45.207.219.191:22 (延迟: 80ms > maxLatency 60ms)") != std::string::npos, report);
	BOOST_TEST(report.find("✓ 健康节点: 2/2") != std::string::npos, report);
}

BOOST_AUTO_TEST_CASE(report_includes_connection_statistics_when_given_counters)
{
	Config::Settings s = settings();
	Stats::Counters counters;
	counters.accepted = 120;
	counters.activeSessions = 3;
	counters.refusedNoTarget = 2;
	counters.poolHits = 90;
	counters.poolMisses = 10;
	std::string report = HealthReport::render(snapshot(s, {ok(50), ok(80)}), s, s.updateInterval, &counters);
	BOOST_TEST(report.find("✓ 连接统计: 活动 3, 累计 120, 暂停时拒绝 2, 无法连接上游 0, 过载拒绝 0, 来源超限拒绝 0, 资源不足拒绝 0, 上游失败 0, 故障转移 0, 连接池命中 90/100\n")
		!= std::string::npos, report);
	BOOST_TEST(HealthReport::render(snapshot(s, {ok(50)}), s, s.updateInterval).find("连接统计") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
