// Selection by real path latency: three targets in a network namespace behind a user-space
// TUN delay line (this kernel has no netem), 30 / 5 / 15 ms one way. ForwardOptimal runs in a
// second namespace and must pick the 5 ms one, move to the 15 ms one when the first slows to
// 80 ms, mark a blackholed target down after the probe timeout, and drop a target whose name
// stops resolving. Assertions are on what the program logs, as an operator would read it.
//
// Needs root, iproute2 and /dev/net/tun; where that is missing the test exits 77, which CTest
// reports as skipped, and prints the reason.
#include "RunningProxy.h"
#include "SettingsBuilder.h"
#include "TestSupport.h"

#include "Poco/File.h"

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include <unistd.h>

using namespace ForwardOptimal::Test;

namespace {

void setDelays(const std::string& control, const std::string& rules)
{
	std::string temporary = control + ".new";
	std::ofstream(temporary, std::ios::trunc) << rules;
	std::rename(temporary.c_str(), control.c_str());
}

struct Lab
{
	Lab():
		script(requiredEnv("FO_SOURCE_DIR") + "/tests/support/netns_lab.sh"),
		prefix("fo" + std::to_string(::getpid())),
		control(dir.path() + "/delays"),
		netnsEtc("/etc/netns/" + prefix + "-p")
	{
		std::string why;
		if (runCapturing({"/bin/bash", script, "check"}, why) != 0)
		{
			std::cout << "SKIPPED: cannot build network namespaces with a TUN delay line here: " << why << std::endl;
			std::exit(77);
		}
		setDelays(control, "198.19.0.1 30\n198.19.0.2 5\n198.19.0.3 15\n");
		std::string output;
		BOOST_TEST_REQUIRE(runCapturing({"/bin/bash", script, "up", prefix, "3", requiredEnv("FO_DELAY_LINE"), control}, output) == 0, output);
		up = true;

		// Names for the targets, resolved inside the proxy's namespace only, and a resolver
		// that answers nothing else (nothing listens on 127.0.0.1:53 there): no query leaves.
		Poco::File(netnsEtc).createDirectories();
		rewriteInPlace(netnsEtc + "/hosts", HOSTS);
		rewriteInPlace(netnsEtc + "/resolv.conf", "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");

		for (int i = 1; i <= 3; ++i)
			backends.push_back(std::make_unique<ChildProcess>(std::vector<std::string>{"/usr/sbin/ip", "netns", "exec", prefix + "-t",
				requiredEnv("FO_DEMO_BACKEND"), "--listen", "198.19.0." + std::to_string(i) + ":7000", "--name", "t" + std::to_string(i)}));
		for (auto& backend : backends)
			BOOST_TEST_REQUIRE(backend->waitForOutput("listening on", 10s), backend->all());
	}

	~Lab()
	{
		backends.clear();
		std::string output;
		if (up)
			runCapturing({"/bin/bash", script, "down", prefix}, output);
		std::system(("rm -rf '" + netnsEtc + "'").c_str());
	}

	static constexpr const char* HOSTS = "127.0.0.1 localhost\n198.19.0.1 fo-a.lab\n198.19.0.2 fo-b.lab\n198.19.0.3 fo-c.lab\n";

	TempDir dir;
	std::string script;
	std::string prefix;
	std::string control;
	std::string netnsEtc;
	bool up = false;
	std::vector<std::unique_ptr<ChildProcess>> backends;
};

// The latency the latest report shows for `target`, in ms; -1 if not there.
double reportedLatency(const std::string& log, const std::string& target)
{
	std::string marker = "✅ 在线 " + target + " (延迟: ";
	std::size_t at = log.rfind(marker);
	if (at == std::string::npos)
		return -1;
	return std::stod(log.substr(at + marker.size()));
}

} // namespace

BOOST_AUTO_TEST_SUITE(latency_selection_tests)

BOOST_AUTO_TEST_CASE(follows_the_fastest_target_over_real_path_latency)
{
	Lab lab;
	ProxyOptions inProxyNamespace;
	inProxyNamespace.prefix = {"/usr/sbin/ip", "netns", "exec", lab.prefix + "-p"};
	RunningProxy proxy(SettingsBuilder::loopback({"fo-a.lab:7000", "fo-b.lab:7000", "fo-c.lab:7000"})
		.set("updateInterval", 1).set("failureInterval", 1).set("probeTimeout", 1).set("adminAddr", ""), {}, inProxyNamespace);

	// 1. The 5 ms target wins; the report shows all three with about twice the one-way delay.
	BOOST_TEST_REQUIRE(proxy.waitForLog("✓ 最优目标: fo-b.lab:7000", 20s), proxy.log());
	std::string log = proxy.log();
	double a = reportedLatency(log, "fo-a.lab:7000"), b = reportedLatency(log, "fo-b.lab:7000"), c = reportedLatency(log, "fo-c.lab:7000");
	BOOST_TEST_MESSAGE("connect latency a=" << a << " b=" << b << " c=" << c << " ms (configured one way: 30, 5, 15)");
	BOOST_TEST(a >= 55.0);
	BOOST_TEST(b >= 9.0);
	BOOST_TEST(c >= 28.0);
	BOOST_TEST(b < c);
	BOOST_TEST(c < a);

	// 2. The best slows to 80 ms one way: the 15 ms target takes over within two update
	//    intervals (waited for generously: this machine is shared).
	setDelays(lab.control, "198.19.0.1 30\n198.19.0.2 80\n198.19.0.3 15\n");
	BOOST_TEST(proxy.waitForLog("🔀 最优目标切换: fo-b.lab:7000 → fo-c.lab:7000", 8s), proxy.log());

	// 3. Blackholed: down after the probe timeout, with the reason.
	setDelays(lab.control, "198.19.0.1 30\n198.19.0.2 drop\n198.19.0.3 15\n");
	BOOST_TEST(proxy.waitForLog("🔴 节点离线: fo-b.lab:7000 (原因: timeout after 1s)", 10s), proxy.log());

	// 4. Names are resolved at every round: when fo-c.lab stops resolving it goes down too,
	//    and the last one left, fo-a.lab, serves.
	rewriteInPlace(lab.netnsEtc + "/hosts", "127.0.0.1 localhost\n198.19.0.1 fo-a.lab\n198.19.0.2 fo-b.lab\n");
	BOOST_TEST(proxy.waitForLog("🔴 节点离线: fo-c.lab:7000 (原因: DNS", 10s), proxy.log());
	BOOST_TEST(proxy.waitForLog("→ fo-a.lab:7000", 10s), proxy.log());

	// 5. Everything unreachable: paused, then resumed when a target answers again.
	setDelays(lab.control, "198.19.0.1 drop\n198.19.0.2 drop\n");
	BOOST_TEST(proxy.waitForLog("⏸️ 服务暂停", 10s), proxy.log());
	setDelays(lab.control, "198.19.0.1 30\n198.19.0.2 5\n");
	BOOST_TEST(proxy.waitForLog("▶️ 服务恢复: 最优目标 fo-b.lab:7000", 10s), proxy.log());

	BOOST_TEST(proxy.stop(SIGTERM) == 0);
	BOOST_TEST_MESSAGE("ForwardOptimal's log:\n" << proxy.log());
}

BOOST_AUTO_TEST_SUITE_END()
