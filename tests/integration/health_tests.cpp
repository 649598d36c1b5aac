// Health checking against real listeners on loopback.
#include "config/SettingsLoader.h"
#include "health/HealthMonitor.h"
#include "health/Resolver.h"
#include "health/TcpProber.h"
#include "proxyprotocol/ProxyHeader.h"

#include "TestSupport.h"

#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/StreamSocket.h"

#include <algorithm>
#include <boost/test/unit_test.hpp>

#include <future>
#include <optional>

using namespace ForwardOptimal;
using namespace ForwardOptimal::Test;

namespace {

// A loopback port with nothing listening on it (bound once, then released).
std::uint16_t closedPort()
{
	Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
	std::uint16_t port = socket.address().port();
	socket.close();
	return port;
}

// Probes every 0.2 s with a 2 s timeout unless `overrides` (-D style) say otherwise.
std::shared_ptr<const Config::Settings> settings(const std::vector<std::string>& targets, const Config::Overrides& overrides = {})
{
	std::string list;
	for (const auto& target : targets)
		list += (list.empty() ? "\"" : ", \"") + target + "\"";
	return Config::SettingsLoader::loadText("{\"bindAddr\": \":1\", \"targets\": [" + list + "], \"updateInterval\": 0.2,"
		" \"failureInterval\": 0.2, \"probeTimeout\": 2}", "t.json", overrides).settings;
}

bool isUp(const Health::HealthMonitor& monitor, std::size_t index)
{
	return monitor.snapshot()->targets.at(index).healthy;
}

// Accepts one connection and returns everything the peer sent before closing, plus the two
// endpoints as this side saw them.
struct Capture
{
	std::string bytes;
	Poco::Net::SocketAddress peer;
	Poco::Net::SocketAddress local;
};

std::future<Capture> captureOne(Poco::Net::ServerSocket& listener)
{
	return std::async(std::launch::async, [&listener] {
		Capture capture;
		Poco::Net::StreamSocket connection = listener.acceptConnection();
		connection.setReceiveTimeout(Poco::Timespan(5, 0));
		capture.peer = connection.peerAddress();
		capture.local = connection.address();
		char buffer[256];
		for (int n; (n = connection.receiveBytes(buffer, sizeof buffer)) > 0;)
			capture.bytes.append(buffer, static_cast<std::size_t>(n));
		return capture;
	});
}

} // namespace

BOOST_AUTO_TEST_SUITE(health_tests)

BOOST_AUTO_TEST_CASE(closed_port_is_down_with_the_reason)
{
	Health::TcpProber prober(Config::ProxyProtocol::NONE);
	Health::ProbeResult result = prober.probe(Poco::Net::SocketAddress("127.0.0.1:" + std::to_string(closedPort())), 2000ms);
	BOOST_TEST(!result.ok);
	BOOST_TEST(result.error == "connection refused");
}

BOOST_AUTO_TEST_CASE(open_port_is_up_with_a_latency_and_names_resolve)
{
	Poco::Net::ServerSocket listener(Poco::Net::SocketAddress("127.0.0.1", 0));
	Health::TcpProber prober(Config::ProxyProtocol::NONE);
	Health::SystemResolver resolver;
	Health::Resolution resolution = resolver.resolve(Config::Endpoint::parseTarget("localhost:" + std::to_string(listener.address().port())), 2000ms);
	BOOST_TEST_REQUIRE(static_cast<bool>(resolution), resolution.error);
	Poco::Net::SocketAddress v4("127.0.0.1", listener.address().port());
	BOOST_TEST_REQUIRE((std::find(resolution.addresses.begin(), resolution.addresses.end(), v4) != resolution.addresses.end()));
	Health::ProbeResult result = prober.probe(v4, 2000ms);
	BOOST_TEST(result.ok, result.error);
	BOOST_TEST(result.latencyMs > 0.0);
	BOOST_TEST(result.latencyMs < 2000.0);
}

BOOST_AUTO_TEST_CASE(ipv6_target_is_probed)
{
	Poco::Net::ServerSocket listener;
	listener.bind6(Poco::Net::SocketAddress("::1", 0), true, false, true);
	listener.listen();
	Health::TcpProber prober(Config::ProxyProtocol::NONE);
	Health::ProbeResult result = prober.probe(Poco::Net::SocketAddress("[::1]:" + std::to_string(listener.address().port())), 2000ms);
	BOOST_TEST(result.ok, result.error);
}

BOOST_AUTO_TEST_CASE(listener_that_appears_later_is_picked_up_within_the_failure_interval)
{
	std::uint16_t port = closedPort();
	Health::TcpProber prober(Config::ProxyProtocol::NONE);
	Health::HealthMonitor monitor(settings({"127.0.0.1:" + std::to_string(port)}, {{"updateInterval", "3600"}}), prober);
	monitor.start();
	BOOST_TEST_REQUIRE(monitor.snapshot()->paused());
	Poco::Net::ServerSocket listener(Poco::Net::SocketAddress("127.0.0.1", port));
	BOOST_TEST(waitFor([&] { return isUp(monitor, 0); }, 10s));
	BOOST_TEST(!monitor.snapshot()->paused());
}

BOOST_AUTO_TEST_CASE(listener_that_disappears_is_dropped)
{
	std::optional<Poco::Net::ServerSocket> listener(Poco::Net::SocketAddress("127.0.0.1", 0));
	std::uint16_t port = listener->address().port();
	Poco::Net::ServerSocket other(Poco::Net::SocketAddress("127.0.0.1", 0));
	Health::TcpProber prober(Config::ProxyProtocol::NONE);
	Health::HealthMonitor monitor(settings({"127.0.0.1:" + std::to_string(port),
		"127.0.0.1:" + std::to_string(other.address().port())}), prober);
	monitor.start();
	BOOST_TEST_REQUIRE(isUp(monitor, 0));
	listener->close();
	listener.reset();
	BOOST_TEST(waitFor([&] { return !isUp(monitor, 0); }, 10s));
	BOOST_TEST(monitor.snapshot()->ranking.size() == 1u);
	BOOST_TEST(monitor.snapshot()->best()->target.port() == other.address().port());
}

BOOST_AUTO_TEST_CASE(probe_sends_a_v2_local_header_when_proxy_protocol_v2_is_on)
{
	Poco::Net::ServerSocket listener(Poco::Net::SocketAddress("127.0.0.1", 0));
	auto captured = captureOne(listener);
	Health::TcpProber prober(Config::ProxyProtocol::V2, Config::ProbeMode::CONNECT);
	BOOST_TEST(prober.probe(Poco::Net::SocketAddress(listener.address().toString()), 2000ms).ok);
	BOOST_TEST(captured.get().bytes == ProxyProtocol::ProxyHeader::v2Local());
}

BOOST_AUTO_TEST_CASE(probe_sends_a_v1_line_of_its_own_endpoints_when_proxy_protocol_v1_is_on)
{
	Poco::Net::ServerSocket listener(Poco::Net::SocketAddress("127.0.0.1", 0));
	auto captured = captureOne(listener);
	Health::TcpProber prober(Config::ProxyProtocol::V1, Config::ProbeMode::CONNECT);
	BOOST_TEST(prober.probe(Poco::Net::SocketAddress(listener.address().toString()), 2000ms).ok);
	Capture capture = captured.get();
	BOOST_TEST(capture.bytes == "PROXY TCP4 127.0.0.1 127.0.0.1 " + std::to_string(capture.peer.port()) + " "
		+ std::to_string(capture.local.port()) + "\r\n");
}

BOOST_AUTO_TEST_CASE(plain_connect_probe_sends_nothing)
{
	Poco::Net::ServerSocket listener(Poco::Net::SocketAddress("127.0.0.1", 0));
	auto captured = captureOne(listener);
	Health::TcpProber prober(Config::ProxyProtocol::NONE, Config::ProbeMode::CONNECT);
	BOOST_TEST(prober.probe(Poco::Net::SocketAddress(listener.address().toString()), 2000ms).ok);
	BOOST_TEST(captured.get().bytes.empty());
}

BOOST_AUTO_TEST_CASE(syn_probes_are_never_accepted_even_with_proxy_protocol_on)
{
	// The listener's backlog holds whatever completes a handshake; a probe's handshake that
	// completed late (the held-back ACK sent after all, within the 200 ms delayed-ACK limit)
	// would make it readable within the wait below.
	Poco::Net::ServerSocket listener(Poco::Net::SocketAddress("127.0.0.1", 0), 1024);
	Poco::Net::SocketAddress target = listener.address();
	for (auto version : {Config::ProxyProtocol::NONE, Config::ProxyProtocol::V1, Config::ProxyProtocol::V2})
	{
		Health::TcpProber prober(version);
		for (int i = 0; i < 10; ++i)
		{
			Health::ProbeResult result = prober.probe(target, 2000ms);
			BOOST_TEST_REQUIRE(result.ok, result.error);
			BOOST_TEST(result.latencyMs > 0.0);
		}
	}
	BOOST_TEST(!listener.poll(Poco::Timespan(0, 500000), Poco::Net::Socket::SELECT_READ));
}

BOOST_AUTO_TEST_CASE(connect_probes_are_accepted)
{
	// The counterpart of the case above, so that it can fail: the same wait sees full connects.
	Poco::Net::ServerSocket listener(Poco::Net::SocketAddress("127.0.0.1", 0), 1024);
	Health::TcpProber prober(Config::ProxyProtocol::NONE, Config::ProbeMode::CONNECT);
	BOOST_TEST_REQUIRE(prober.probe(Poco::Net::SocketAddress(listener.address().toString()), 2000ms).ok);
	BOOST_TEST(listener.poll(Poco::Timespan(0, 500000), Poco::Net::Socket::SELECT_READ));
}

BOOST_AUTO_TEST_CASE(round_lasts_as_long_as_the_slowest_probe_not_the_sum)
{
	// Three listeners whose accept queues are full never complete a handshake, so each probe
	// runs into the timeout; probed one after another they would take three timeouts.
	std::vector<std::unique_ptr<Poco::Net::ServerSocket>> stuck;
	std::vector<std::unique_ptr<Poco::Net::StreamSocket>> fillers;
	std::vector<std::string> targets;
	for (int i = 0; i < 3; ++i)
	{
		auto listener = std::make_unique<Poco::Net::ServerSocket>();
		listener->bind(Poco::Net::SocketAddress("127.0.0.1", 0));
		listener->listen(0); // backlog 0: the kernel still queues one, the next SYNs are dropped
		for (int f = 0; f < 3; ++f)
		{
			auto filler = std::make_unique<Poco::Net::StreamSocket>();
			try { filler->connect(listener->address(), Poco::Timespan(0, 200000)); } catch (const Poco::Exception&) {}
			fillers.push_back(std::move(filler));
		}
		targets.push_back(listener->address().toString());
		stuck.push_back(std::move(listener));
	}
	Health::TcpProber prober(Config::ProxyProtocol::NONE);
	Health::HealthMonitor monitor(settings(targets, {{"probeTimeout", "1.5"}}), prober);
	auto started = std::chrono::steady_clock::now();
	monitor.runRound();
	double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
	auto pSnapshot = monitor.snapshot();
	int timedOut = 0;
	for (const auto& status : pSnapshot->targets)
		timedOut += status.lastError.find("timeout") != std::string::npos;
	BOOST_TEST_REQUIRE(timedOut == 3, "the kernel completed a handshake; cannot test the timeout this way");
	// Sequential probing would need 4.5 s; concurrent needs 1.5 s. The bound is generous.
	BOOST_TEST(seconds < 4.0, seconds);
}

BOOST_AUTO_TEST_SUITE_END()
