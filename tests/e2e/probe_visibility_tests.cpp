// What a target's application sees of ForwardOptimal's health probes: the real binary probes a
// plain TCP listener on loopback that accepts and counts every connection. Half-open probes
// ("syn", the default) must never be accepted; full connects ("connect") are, one per probe,
// which is what makes the first case able to fail.
//
// The pool is off (poolSize 0) so that only probes reach the listener: a pooled socket is a
// real connection by design, and the pool's own idle behaviour is tested with the pool.
#include "RunningProxy.h"
#include "TestSupport.h"

#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/StreamSocket.h"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <csignal>

using namespace ForwardOptimal::Test;

namespace {

/// A TCP listener with a large backlog whose thread accepts, counts and closes every connection.
class CountingListener
{
public:
	CountingListener():
		_socket(Poco::Net::SocketAddress("127.0.0.1", 0), 4096),
		_thread([this] { run(); })
	{
	}

	~CountingListener()
	{
		_stop = true;
		_thread.join();
	}

	std::string address() const { return _socket.address().toString(); }
	int accepted() const { return _accepted; }

private:
	void run()
	{
		while (!_stop)
		{
			if (!_socket.poll(Poco::Timespan(0, 50000), Poco::Net::Socket::SELECT_READ))
				continue;
			Poco::Net::StreamSocket connection = _socket.acceptConnection();
			++_accepted;
			connection.close();
		}
	}

	Poco::Net::ServerSocket _socket;
	std::atomic<bool> _stop{false};
	std::atomic<int> _accepted{0};
	std::thread _thread;
};

std::size_t count(const std::string& text, const std::string& what)
{
	std::size_t n = 0;
	for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size()))
		++n;
	return n;
}

/// The latency of `target` in the latest health report, in ms; -1 if it is not shown up.
double reportedLatency(const std::string& log, const std::string& target)
{
	std::string marker = "✅ 在线 " + target + " (延迟: ";
	std::size_t at = log.rfind(marker);
	return at == std::string::npos ? -1.0 : std::stod(log.substr(at + marker.size()));
}

const std::string REPORT = "节点健康检查报告";

SettingsBuilder settings(const std::string& target)
{
	SettingsBuilder settings = SettingsBuilder::loopback({target});
	settings.set("updateInterval", 0.2).set("poolSize", 0).set("adminAddr", "");
	return settings;
}

} // namespace

BOOST_AUTO_TEST_SUITE(probe_visibility_tests)

BOOST_AUTO_TEST_CASE(syn_probes_are_never_accepted_and_still_measure_a_latency)
{
	CountingListener listener;
	RunningProxy proxy(settings(listener.address()));
	// 50 rounds at 0.2 s: ten seconds of probing (longer on a loaded machine).
	BOOST_TEST_REQUIRE(waitFor([&] { return count(proxy.log(), REPORT) >= 50; }, 60s), proxy.log());
	double latency = reportedLatency(proxy.log(), listener.address());
	BOOST_TEST_MESSAGE("latency of the last report: " << latency << " ms; accepted: " << listener.accepted());
	BOOST_TEST(latency > 0.0);
	BOOST_TEST(latency < 1000.0);
	// A handshake completed late (the held-back ACK sent after all) would show within 200 ms.
	BOOST_TEST(!waitFor([&] { return listener.accepted() > 0; }, 1s));
	BOOST_TEST(listener.accepted() == 0);
	BOOST_TEST(proxy.log().find("❌") == std::string::npos, proxy.log());
	BOOST_TEST(proxy.stop() == 0);
}

BOOST_AUTO_TEST_CASE(connect_probes_are_accepted_one_per_round)
{
	CountingListener listener;
	RunningProxy proxy(settings(listener.address()).set("probeMode", "connect"));
	BOOST_TEST_REQUIRE(waitFor([&] { return count(proxy.log(), REPORT) >= 10; }, 30s), proxy.log());
	BOOST_TEST(waitFor([&] { return listener.accepted() >= 10; }, 5s), listener.accepted());
	BOOST_TEST(reportedLatency(proxy.log(), listener.address()) > 0.0);
	BOOST_TEST(proxy.stop() == 0);
}

BOOST_AUTO_TEST_CASE(check_prints_the_probe_mode_and_rejects_an_unknown_one)
{
	TempDir dir;
	std::string out, err;
	BOOST_TEST(ChildProcess::run({binaryPath(), "-c", settings("127.0.0.1:1").write(dir), "--check"}, out, err) == 0, out + err);
	BOOST_TEST(out.find("\"probeMode\": \"syn\"") != std::string::npos, out);
	int code = ChildProcess::run({binaryPath(), "-c", settings("127.0.0.1:1").set("probeMode", "half").write(dir), "--check"}, out, err);
	BOOST_TEST(code == 78, code);
	BOOST_TEST((out + err).find("probeMode") != std::string::npos, out + err);
	BOOST_TEST((out + err).find("\"syn\" or \"connect\"") != std::string::npos, out + err);
}

BOOST_AUTO_TEST_SUITE_END()
