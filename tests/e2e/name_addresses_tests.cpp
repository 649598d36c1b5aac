// Targets by name, every address a candidate (issue 14), in the network-namespace lab: the
// proxy runs in one namespace, the backends in another behind the user-space delay line, and
// names resolve through the proxy namespace's own hosts file and resolv.conf (/etc/netns/…):
// no DNS query leaves the machine. Addresses only from 198.18.0.0/15 and 2001:db8::/32.
// Clients connect from inside the proxy's namespace (a thread that joins it with setns()).
//
// Needs root, iproute2 and /dev/net/tun; where that is missing the test exits 77, which CTest
// reports as skipped, and prints the reason.
#include "RunningProxy.h"
#include "SettingsBuilder.h"
#include "TestSupport.h"

#include "Poco/File.h"
#include "Poco/Net/DatagramSocket.h"
#include "Poco/Net/StreamSocket.h"

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

using namespace ForwardOptimal::Test;

namespace {

// Runs `work` on a thread that has joined the network namespace `ns` (setns affects only the
// calling thread); sockets it creates belong to that namespace for good.
template <typename Work>
auto inNamespace(const std::string& ns, Work work) -> decltype(work())
{
	auto task = std::async(std::launch::async, [ns, work]() {
		int fd = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
		if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0)
			throw std::runtime_error("cannot join network namespace " + ns);
		::close(fd);
		return work();
	});
	return task.get();
}

// The greeting line of the demo backend the proxy hands a new client to ("" if none).
std::string greeting(const std::string& ns, const Poco::Net::SocketAddress& proxy)
{
	return inNamespace(ns, [proxy]() -> std::string {
		try
		{
			Poco::Net::StreamSocket client(proxy);
			client.setReceiveTimeout(Poco::Timespan(5, 0));
			std::string line;
			char c;
			while (line.size() < 200 && client.receiveBytes(&c, 1) == 1 && c != '\n')
				line += c;
			return line;
		}
		catch (const Poco::Exception& error)
		{
			return "error: " + error.displayText();
		}
	});
}

struct Lab
{
	explicit Lab(const std::string& hosts, const std::string& delays):
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
		std::ofstream(control, std::ios::trunc) << delays;
		std::string output;
		BOOST_TEST_REQUIRE(runCapturing({"/bin/bash", script, "up", prefix, "4", requiredEnv("FO_DELAY_LINE"), control}, output) == 0, output);
		up = true;
		Poco::File(netnsEtc).createDirectories();
		rewriteInPlace(netnsEtc + "/hosts", hosts);
		// Nothing listens on 127.0.0.1:53 in the namespace unless a test says so.
		rewriteInPlace(netnsEtc + "/resolv.conf", "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
	}

	~Lab()
	{
		backends.clear();
		std::string output;
		if (up)
			runCapturing({"/bin/bash", script, "down", prefix}, output);
		std::system(("rm -rf '" + netnsEtc + "'").c_str());
	}

	void backend(const std::string& side, const std::string& listen, const std::string& name)
	{
		backends.push_back(std::make_unique<ChildProcess>(std::vector<std::string>{"/usr/sbin/ip", "netns", "exec",
			prefix + side, requiredEnv("FO_DEMO_BACKEND"), "--listen", listen, "--name", name}));
		BOOST_TEST_REQUIRE(backends.back()->waitForOutput("listening on", 10s), backends.back()->all());
	}

	ProxyOptions inProxyNamespace() const
	{
		ProxyOptions options;
		options.prefix = {"/usr/sbin/ip", "netns", "exec", prefix + "-p"};
		return options;
	}

	std::string proxyNs() const { return prefix + "-p"; }

	TempDir dir;
	std::string script;
	std::string prefix;
	std::string control;
	std::string netnsEtc;
	bool up = false;
	std::vector<std::unique_ptr<ChildProcess>> backends;
};

SettingsBuilder quick(const std::vector<std::string>& targets)
{
	return SettingsBuilder::loopback(targets).set("updateInterval", 1).set("failureInterval", 1).set("probeTimeout", 1)
		.set("adminAddr", "");
}

} // namespace

BOOST_AUTO_TEST_SUITE(name_addresses_tests)

BOOST_AUTO_TEST_CASE(a_name_whose_ipv4_address_is_blackholed_is_served_over_its_ipv6_address)
{
	Lab lab("127.0.0.1 localhost\n198.19.0.1 fo-dual.lab\n2001:db8:2::2 fo-dual.lab\n", "198.19.0.1 drop\n");
	lab.backend("-t", "198.19.0.1:7000", "v4");
	lab.backend("-t", "[2001:db8:2::2]:7000", "v6");
	RunningProxy proxy(quick({"fo-dual.lab:7000"}), {}, lab.inProxyNamespace());
	BOOST_TEST_REQUIRE(proxy.waitForLog("🟢 节点上线: fo-dual.lab:7000", 20s), proxy.log());
	BOOST_TEST(proxy.waitForLog("🔴 地址离线: fo-dual.lab:7000 → 198.19.0.1:7000 (原因: timeout after 1s)", 10s), proxy.log());
	BOOST_TEST(proxy.waitForLog("↳ ✅ 在线 [2001:db8:2::2]:7000", 10s), proxy.log());
	for (int i = 0; i < 3; ++i)
		BOOST_TEST(greeting(lab.proxyNs(), proxy.listen()).find("hello from v6") == 0u);
	BOOST_TEST(proxy.stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(clients_land_on_the_faster_address_and_a_removed_address_is_dropped)
{
	Lab lab("127.0.0.1 localhost\n198.19.0.3 fo-pair.lab\n198.19.0.4 fo-pair.lab\n", "198.19.0.3 40\n198.19.0.4 5\n");
	lab.backend("-t", "198.19.0.3:7000", "slow");
	lab.backend("-t", "198.19.0.4:7000", "fast");
	RunningProxy proxy(quick({"fo-pair.lab:7000"}), {}, lab.inProxyNamespace());
	BOOST_TEST_REQUIRE(proxy.waitForLog("🎯 最优目标: fo-pair.lab:7000", 20s), proxy.log());
	// Both addresses measured, the fast one in use.
	BOOST_TEST_REQUIRE(waitFor([&] {
		std::string log = proxy.log();
		std::size_t fast = log.rfind("↳ ✅ 在线 198.19.0.4:7000 (延迟: ");
		return log.find("↳ ✅ 在线 198.19.0.3:7000") != std::string::npos && fast != std::string::npos
			&& log.find("← 当前使用", fast) < log.find('\n', fast);
	}, 20s), proxy.log());
	for (int i = 0; i < 5; ++i)
		BOOST_TEST(greeting(lab.proxyNs(), proxy.listen()).find("hello from fast") == 0u);
	std::string log = proxy.log();
	std::size_t report = log.rfind("节点健康检查报告");
	BOOST_TEST_MESSAGE("the report with both addresses:\n" << log.substr(report, log.find("==========", report) - report));

	// The fast address leaves the name: dropped at the next round, clients go to the other one.
	rewriteInPlace(lab.netnsEtc + "/hosts", "127.0.0.1 localhost\n198.19.0.3 fo-pair.lab\n");
	BOOST_TEST_REQUIRE(proxy.waitForLog("➖ 地址移除: fo-pair.lab:7000 → 198.19.0.4:7000", 10s), proxy.log());
	BOOST_TEST(proxy.waitForLog("🔀 最优地址切换: fo-pair.lab:7000: 198.19.0.4:7000 → 198.19.0.3:7000", 10s), proxy.log());
	for (int i = 0; i < 3; ++i)
		BOOST_TEST(greeting(lab.proxyNs(), proxy.listen()).find("hello from slow") == 0u);
	BOOST_TEST(proxy.stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(a_resolver_that_never_answers_does_not_hold_up_the_rounds)
{
	Lab lab("127.0.0.1 localhost\n198.19.0.3 fo-a.lab\n", "");
	// A resolver that takes every query and answers none: a UDP socket on the namespace's
	// 127.0.0.1:53 that is never read. glibc would wait 30 s for it.
	Poco::Net::DatagramSocket blackhole = inNamespace(lab.proxyNs(), [] {
		return Poco::Net::DatagramSocket(Poco::Net::SocketAddress("127.0.0.1", 53));
	});
	rewriteInPlace(lab.netnsEtc + "/resolv.conf", "nameserver 127.0.0.1\noptions timeout:30 attempts:1\n");
	lab.backend("-t", "198.19.0.3:7000", "a");
	RunningProxy proxy(quick({"fo-gone.lab:7000", "fo-a.lab:7000"}), {}, lab.inProxyNamespace());
	BOOST_TEST_REQUIRE(proxy.waitForLog("🔴 节点离线: fo-gone.lab:7000 (原因: DNS: no answer within 1s: fo-gone.lab)", 20s),
		proxy.log());
	// Rounds keep coming every updateInterval (1 s) + probeTimeout (1 s) at most, while the
	// lookup would hold a blocking round for 30 s.
	auto reports = [&] {
		std::string log = proxy.log();
		std::size_t count = 0;
		for (std::size_t at = log.find("节点健康检查报告"); at != std::string::npos; at = log.find("节点健康检查报告", at + 1))
			++count;
		return count;
	};
	std::size_t before = reports();
	BOOST_TEST(waitFor([&] { return reports() >= before + 4; }, 20s), proxy.log());
	BOOST_TEST(greeting(lab.proxyNs(), proxy.listen()).find("hello from a") == 0u);
	BOOST_TEST(proxy.stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(localhost_served_only_on_ipv6_loopback_is_up)
{
	// The first report: a backend on [::1]:PORT only, target localhost:PORT, where
	// localhost maps to both 127.0.0.1 and ::1.
	Lab lab("127.0.0.1 localhost\n::1 localhost\n", "");
	lab.backend("-p", "[::1]:7100", "loopback6");
	RunningProxy proxy(quick({"localhost:7100"}), {}, lab.inProxyNamespace());
	BOOST_TEST_REQUIRE(proxy.waitForLog("🟢 节点上线: localhost:7100", 20s), proxy.log());
	BOOST_TEST(greeting(lab.proxyNs(), proxy.listen()).find("hello from loopback6") == 0u);
	BOOST_TEST(proxy.log().find("🔴 节点离线: localhost:7100") == std::string::npos, proxy.log());
	BOOST_TEST(proxy.stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
