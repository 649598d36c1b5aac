#include "config/SettingsLoader.h"
#include "net/AcceptedSocket.h"
#include "net/Listener.h"
#include "proxy/InboundProxy.h"
#include "proxyprotocol/ProxyHeader.h"
#include "health/HealthMonitor.h"
#include "proxy/ProxyServer.h"
#include "proxy/Runtime.h"

#include "Backend.h"
#include "FakeProber.h"
#include "TestSupport.h"

#include "Poco/Exception.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/StreamSocket.h"

#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <cstring>
#include <list>
#include <memory>
#include <vector>

using namespace ForwardOptimal;
using namespace ForwardOptimal::Test;

namespace {

Config::Settings settingsFor(const std::string& bindAddr, const std::string& extra = std::string())
{
	std::string text = "{\"bindAddr\": \"" + bindAddr + "\", \"targets\": [\"127.0.0.1:9\"], \"updateInterval\": 60" + extra + "}";
	return *Config::SettingsLoader::loadText(text, "test.json", {}).settings;
}

// Connects, and reads until the server closes (with a FIN or a reset): returns the bytes
// received. The fixture's one target has nothing listening, so every client is let go at once.
std::size_t connectAndReadToEnd(const Poco::Net::SocketAddress& address)
{
	Poco::Net::StreamSocket client(address);
	client.setReceiveTimeout(Poco::Timespan(5, 0));
	char buffer[64];
	std::size_t total = 0;
	try
	{
		for (int n; (n = client.receiveBytes(buffer, sizeof buffer)) > 0;)
			total += static_cast<std::size_t>(n);
	}
	catch (const Poco::Net::ConnectionResetException&)
	{
	}
	return total;
}

// A runtime whose one target answers (or not) as the test says, and the connection context
// built on it.
struct Fixture
{
	Fixture()
	{
		prober().up("127.0.0.1:9", 1.0);
		runtime().monitor().runRound();
	}

	Proxy::Runtime& runtime() { return *context.runtime(); }
	FakeProber& prober() { return *pProber; }

	std::shared_ptr<const Config::Settings> pSettings = std::make_shared<Config::Settings>(settingsFor("127.0.0.1:0", ", \"poolSize\": 0"));
	FakeProber* pProber = new FakeProber;
	Stats::Counters counters;
	Proxy::ConnectionContext context{std::make_shared<Proxy::Runtime>(pSettings, std::unique_ptr<Health::Prober>(pProber), counters), counters};
};

// A client connected from `source` (a loopback address) to `address`, with a receive timeout.
Poco::Net::StreamSocket connectFrom(const std::string& source, const Poco::Net::SocketAddress& address)
{
	Poco::Net::SocketAddress from(source, 0);
	Poco::Net::StreamSocket client(from.family());
	client.impl()->bind(from, false);
	client.connect(address);
	client.setReceiveTimeout(Poco::Timespan(5, 0));
	return client;
}

// True if the proxy let `client` go without a byte: a reset (or a FIN) before any data.
bool letGo(Poco::Net::StreamSocket& client)
{
	char byte;
	try
	{
		return client.receiveBytes(&byte, 1) == 0;
	}
	catch (const Poco::Net::ConnectionResetException&)
	{
		return true;
	}
	catch (const Poco::TimeoutException&)
	{
		return false;
	}
}

// True if a client from `source` to `address` is let go without a byte. A client reset at
// accept may learn it from connect() itself: under load its thread wakes from the handshake
// after the proxy has accepted and reset it, and connect() then reports ECONNRESET.
bool letGoOnConnect(const std::string& source, const Poco::Net::SocketAddress& address)
{
	try
	{
		Poco::Net::StreamSocket client = connectFrom(source, address);
		return letGo(client);
	}
	catch (const Poco::Net::ConnectionResetException&)
	{
		return true;
	}
}

// A proxy in front of an echo backend, with its own runtime: `extra` settings for both the
// listener and the sessions (maxConnections, maxQueued, maxConnectionsPerSource).
struct EchoProxy
{
	explicit EchoProxy(const std::string& extra, const std::string& bind = "127.0.0.1:0")
	{
		pSettings = Config::SettingsLoader::loadText("{\"bindAddr\": \"" + bind + "\", \"targets\": [\"" + backend.address()
			+ "\"], \"updateInterval\": 60, \"poolSize\": 0" + extra + "}", "test.json", {}).settings;
		auto* pProber = new FakeProber;
		pProber->up(backend.address(), 1.0);
		auto pRuntime = std::make_shared<Proxy::Runtime>(pSettings, std::unique_ptr<Health::Prober>(pProber), counters);
		pRuntime->monitor().runRound();
		context = std::make_unique<Proxy::ConnectionContext>(pRuntime, counters);
		server = std::make_unique<Proxy::ProxyServer>(*pSettings, *context);
		server->start();
	}

	// Connections the proxy counts for `source` now, read the way the proxy reads them: by how
	// many more the address is granted under a high limit.
	unsigned counted(const std::string& source)
	{
		constexpr unsigned PROBE_LIMIT = 64;
		Net::MappedAddress address{Poco::Net::IPAddress(source)};
		std::vector<Net::SourceLimiter::Lease> granted;
		for (unsigned i = 0; i < PROBE_LIMIT; ++i)
		{
			granted.push_back(context->sources.acquire(address, PROBE_LIMIT));
			if (!granted.back())
				return PROBE_LIMIT - i;
		}
		return 0;
	}

	// A client from `source` whose session runs: it sent a line and got it back.
	Poco::Net::StreamSocket running(const std::string& source)
	{
		Poco::Net::StreamSocket client = connectFrom(source, server->address());
		Backend::sendAll(client, "x");
		char byte = 0;
		BOOST_TEST_REQUIRE(client.receiveBytes(&byte, 1) == 1);
		return client;
	}

	Backend backend{Backend::echo()};
	std::shared_ptr<const Config::Settings> pSettings;
	Stats::Counters counters;
	std::unique_ptr<Proxy::ConnectionContext> context;
	std::unique_ptr<Proxy::ProxyServer> server;
};

} // namespace

BOOST_TEST_GLOBAL_FIXTURE(IgnoreSigpipe); // the sessions relay in this process (Relay.h)

BOOST_FIXTURE_TEST_SUITE(proxy_server_tests, Fixture)

BOOST_AUTO_TEST_CASE(accepts_clients_on_ipv4)
{
	Proxy::ProxyServer server(settingsFor("127.0.0.1:0"), context);
	server.start();
	BOOST_TEST(server.address().port() != 0);
	BOOST_TEST(connectAndReadToEnd(server.address()) == 0u);
	BOOST_TEST(waitFor([&] { return server.server().totalConnections() == 1; }, 5s));
}

BOOST_AUTO_TEST_CASE(listens_on_ipv6_loopback)
{
	Proxy::ProxyServer server(settingsFor("[::1]:0"), context);
	server.start();
	BOOST_TEST(server.address().host().toString() == "::1");
	BOOST_TEST(connectAndReadToEnd(server.address()) == 0u);
}

BOOST_AUTO_TEST_CASE(wildcard_port_accepts_ipv4_and_ipv6)
{
	Proxy::ProxyServer server(settingsFor(":0"), context);
	server.start();
	std::uint16_t port = server.address().port();
	connectAndReadToEnd(Poco::Net::SocketAddress("127.0.0.1", port));
	connectAndReadToEnd(Poco::Net::SocketAddress("::1", port));
	BOOST_TEST(waitFor([&] { return server.server().totalConnections() == 2; }, 5s));
}

BOOST_AUTO_TEST_CASE(port_in_use_fails_naming_the_address)
{
	Proxy::ProxyServer first(settingsFor("127.0.0.1:0"), context);
	std::string taken = "127.0.0.1:" + std::to_string(first.address().port());
	try
	{
		Proxy::ProxyServer second(settingsFor(taken), context);
		BOOST_FAIL("a second server bound the same port");
	}
	catch (const Poco::IOException& error)
	{
		BOOST_TEST(error.message().find("cannot listen on " + taken) == 0u, error.message());
		BOOST_TEST(error.message().find("in use") != std::string::npos, error.message());
	}
}

BOOST_AUTO_TEST_CASE(thread_pool_and_queue_follow_the_settings)
{
	Proxy::ProxyServer server(settingsFor("127.0.0.1:0", ", \"maxConnections\": 3, \"maxQueued\": 7"), context);
	BOOST_TEST(server.server().maxThreads() == 3);
	BOOST_TEST(server.server().params().getMaxQueued() == 7);
}

BOOST_AUTO_TEST_CASE(stop_closes_the_listener_and_is_idempotent)
{
	Proxy::ProxyServer server(settingsFor("127.0.0.1:0"), context);
	server.start();
	Poco::Net::SocketAddress address = server.address();
	server.stop();
	server.stop();
	BOOST_CHECK_THROW(Poco::Net::StreamSocket client(address), Poco::Net::ConnectionRefusedException);
}

BOOST_AUTO_TEST_CASE(start_stop_cycles_leak_no_descriptors)
{
	// Warm up once: the first use of POCO's networking opens descriptors that stay.
	{
		Proxy::ProxyServer server(settingsFor("127.0.0.1:0"), context);
		server.start();
		connectAndReadToEnd(server.address());
	}
	int baseline = openFdCount();
	for (int i = 0; i < 20; ++i)
	{
		Proxy::ProxyServer server(settingsFor("127.0.0.1:0"), context);
		server.start();
		connectAndReadToEnd(server.address());
	}
	BOOST_TEST(openFdCount() == baseline);
}

BOOST_AUTO_TEST_CASE(closes_clients_at_once_while_no_target_is_healthy)
{
	prober().down("127.0.0.1:9");
	runtime().monitor().runRound();
	BOOST_TEST_REQUIRE(runtime().monitor().snapshot()->paused());
	Proxy::ProxyServer server(settingsFor("127.0.0.1:0"), context);
	server.start();
	for (int i = 0; i < 5; ++i)
	{
		BOOST_TEST(connectAndReadToEnd(server.address()) == 0u);
	}
	BOOST_TEST(waitFor([&] { return counters.refusedNoTarget == 5; }, 5s));
	BOOST_TEST(counters.accepted == 5u);
}

BOOST_AUTO_TEST_CASE(a_client_over_its_source_limit_is_reset_at_accept_and_takes_no_queue_slot_or_thread)
{
	// Both threads busy with 127.0.0.2's two sessions, the limit for one address.
	EchoProxy proxy(", \"maxConnections\": 2, \"maxQueued\": 1, \"maxConnectionsPerSource\": 2");
	std::list<Poco::Net::StreamSocket> sessions{proxy.running("127.0.0.2"), proxy.running("127.0.0.2")};
	const Poco::Net::TCPServer& tcp = proxy.server->server();
	BOOST_TEST_REQUIRE(tcp.currentConnections() == 2);

	for (int i = 0; i < 5; ++i)
	{
		BOOST_TEST(letGoOnConnect("127.0.0.2", proxy.server->address()), "client " << i);
	}
	BOOST_TEST(proxy.counters.refusedPerSource == 5u);
	// Never handed to the TCPServer: not queued, not counted as a connection or an overload.
	BOOST_TEST(tcp.totalConnections() == 2);
	BOOST_TEST(tcp.queuedConnections() == 0);
	BOOST_TEST(tcp.refusedConnections() == 0);
	BOOST_TEST(proxy.counters.accepted == 2u);

	// The one queue slot is still free for another address, which is served when a thread is.
	Poco::Net::StreamSocket other = connectFrom("127.0.0.3", proxy.server->address());
	BOOST_TEST(waitFor([&] { return tcp.queuedConnections() == 1; }, 5s));
	Backend::sendAll(other, "y");
	sessions.front().close();
	char byte = 0;
	BOOST_TEST(other.receiveBytes(&byte, 1) == 1);
	BOOST_TEST(byte == 'y');
	BOOST_TEST(tcp.refusedConnections() == 0);
}

BOOST_AUTO_TEST_CASE(the_source_limit_counts_ipv6_clients_by_their_address)
{
	// A dual-stack listener: ::1 is held to its limit, while 127.0.0.2 (arriving as
	// ::ffff:127.0.0.2) is another source and still served.
	EchoProxy proxy(", \"maxConnections\": 8, \"maxQueued\": 4, \"maxConnectionsPerSource\": 2", ":0");
	Poco::Net::SocketAddress v6("::1", proxy.server->address().port());
	Poco::Net::SocketAddress v4("127.0.0.1", proxy.server->address().port());
	std::list<Poco::Net::StreamSocket> sessions;
	for (int i = 0; i < 2; ++i)
	{
		sessions.push_back(connectFrom("::1", v6));
		Backend::sendAll(sessions.back(), "x");
		char byte = 0;
		BOOST_TEST_REQUIRE(sessions.back().receiveBytes(&byte, 1) == 1);
	}
	for (int i = 0; i < 3; ++i)
	{
		BOOST_TEST(letGoOnConnect("::1", v6), "client " << i);
	}
	BOOST_TEST(proxy.counters.refusedPerSource == 3u);
	Poco::Net::StreamSocket other = connectFrom("127.0.0.2", v4);
	Backend::sendAll(other, "y");
	char byte = 0;
	BOOST_TEST(other.receiveBytes(&byte, 1) == 1);
	BOOST_TEST(byte == 'y');
	// A place comes back when a session ends.
	sessions.front().close();
	sessions.pop_front();
	BOOST_TEST(waitFor([&] {
		try
		{
			Poco::Net::StreamSocket again = connectFrom("::1", v6);
			Backend::sendAll(again, "z");
			char c = 0;
			return again.receiveBytes(&c, 1) == 1;
		}
		catch (const Poco::Exception&)
		{
			return false;
		}
	}, 5s));
}

BOOST_AUTO_TEST_CASE(places_come_back_when_sessions_end_and_when_queued_clients_are_dropped)
{
	EchoProxy proxy(", \"maxConnections\": 2, \"maxQueued\": 2, \"maxConnectionsPerSource\": 8");
	const Poco::Net::TCPServer& tcp = proxy.server->server();
	std::list<Poco::Net::StreamSocket> sessions{proxy.running("127.0.0.2"), proxy.running("127.0.0.2")};
	BOOST_TEST(proxy.counted("127.0.0.2") == 2u);

	// Two more wait in the queue, and hold their places while they wait.
	std::list<Poco::Net::StreamSocket> queued;
	for (int i = 0; i < 2; ++i)
		queued.push_back(connectFrom("127.0.0.2", proxy.server->address()));
	BOOST_TEST_REQUIRE(waitFor([&] { return tcp.queuedConnections() == 2; }, 5s));
	BOOST_TEST(proxy.counted("127.0.0.2") == 4u);

	// Three more are admitted by the filter, then turned away by the full queue: their places
	// come back with their sockets.
	for (int i = 0; i < 3; ++i)
	{
		BOOST_TEST(letGoOnConnect("127.0.0.2", proxy.server->address()), "client " << i);
	}
	BOOST_TEST(waitFor([&] { return tcp.refusedConnections() == 3; }, 5s));
	BOOST_TEST(proxy.counted("127.0.0.2") == 4u);

	// Stopping accepting drops the queued clients unrun: their places come back too.
	proxy.server->stopAccepting();
	for (auto& client : queued)
		BOOST_TEST(letGo(client));
	BOOST_TEST(proxy.counted("127.0.0.2") == 2u);
	BOOST_TEST(proxy.counters.accepted == 2u);

	// And the sessions' places when they end.
	for (auto& client : sessions)
		client.shutdownSend();
	BOOST_TEST_REQUIRE(waitFor([&] { return proxy.counters.activeSessions == 0; }, 5s));
	BOOST_TEST(proxy.counted("127.0.0.2") == 0u);
	BOOST_TEST(proxy.counters.refusedPerSource == 0u);
}

BOOST_AUTO_TEST_CASE(idle_relay_threads_above_the_minimum_exit_after_the_idle_time)
{
	// 32 sessions at once grow the relay pool to 32 threads or more. POCO 1.11's pool retires
	// idle threads only when it hands one out: without the collector they would stay for as
	// long as no client arrives. With a one-second idle time they must go, and nothing connects.
	Backend backend(Backend::echo());
	auto pEchoSettings = Config::SettingsLoader::loadText("{\"bindAddr\": \"127.0.0.1:0\", \"targets\": [\"" + backend.address()
		+ "\"], \"updateInterval\": 60, \"poolSize\": 0}", "test.json", {}).settings;
	FakeProber* pEchoProber = new FakeProber;
	pEchoProber->up(backend.address(), 1.0);
	Stats::Counters echoCounters;
	Proxy::ConnectionContext echoContext{std::make_shared<Proxy::Runtime>(pEchoSettings, std::unique_ptr<Health::Prober>(pEchoProber), echoCounters), echoCounters};
	echoContext.runtime()->monitor().runRound();
	Proxy::ProxyServer server(*pEchoSettings, echoContext, 1);
	server.start();
	int before = threadCount();
	{
		std::vector<std::unique_ptr<Poco::Net::StreamSocket>> sessions;
		for (int i = 0; i < 32; ++i)
		{
			sessions.push_back(std::make_unique<Poco::Net::StreamSocket>(server.address()));
			sessions.back()->setReceiveTimeout(Poco::Timespan(10, 0));
			Backend::sendAll(*sessions.back(), "x");
			char echoed = 0;
			BOOST_TEST_REQUIRE(sessions.back()->receiveBytes(&echoed, 1) == 1); // relaying: it holds a thread
		}
		BOOST_TEST(threadCount() >= before + 32);
	}
	BOOST_TEST(waitFor([&] { return echoCounters.activeSessions == 0; }, 10s));
	BOOST_TEST(waitFor([&] { return threadCount() <= before + 2; }, 30s),
		"threads: " << threadCount() << ", before the burst: " << before);
}

// A load balancer's check sends its LOCAL header and resets at once (HAProxy's `check` with
// send-proxy-v2 does: 16 bytes, then RST). By the time the accept filter and the session look
// at such a socket, getpeername() fails; the address accept() returned must still decide
// trust, and the header sent before the reset must still be read: counted as proxy_local, not
// served as a direct client whose bytes go upstream. The reset comes before the accept here
// (the listener is not accepting yet), so the order is the one that used to fail.
BOOST_AUTO_TEST_CASE(a_balancer_check_that_resets_after_its_local_header_is_still_trusted_and_read)
{
	Poco::Net::ServerSocket listener = Net::Listener::listen(Config::Endpoint::parseListen("127.0.0.1:0"), 16);
	Poco::Net::SocketAddress clientAddress;
	{
		Poco::Net::StreamSocket check(Poco::Net::SocketAddress::IPv4);
		check.connect(listener.address(), Poco::Timespan(5, 0));
		clientAddress = check.address();
		std::string header = ProxyProtocol::ProxyHeader::v2Local();
		check.sendBytes(header.data(), static_cast<int>(header.size()));
		check.setLinger(true, 0);
		check.close(); // RST
	}
	Poco::Thread::sleep(100); // the reset reaches the accepted connection before accept()
	Poco::Net::SocketAddress acceptedFrom;
	Poco::Net::StreamSocket accepted = listener.acceptConnection(acceptedFrom);
	const Net::AcceptedSocketImpl* pImpl = Net::AcceptedSocketImpl::of(accepted);
	BOOST_TEST_REQUIRE(pImpl != nullptr);
	BOOST_TEST(accepted.peerAddress().toString() == clientAddress.toString()); // no getpeername: it fails now
	BOOST_TEST(accepted.address().toString() == listener.address().toString()); // the listener's, no getsockname
	sockaddr_storage name{};
	socklen_t length = sizeof name;
	BOOST_TEST_MESSAGE("getpeername on the reset socket: " << (::getpeername(accepted.impl()->sockfd(), reinterpret_cast<sockaddr*>(&name), &length) == 0 ? "works" : std::strerror(errno)));
	BOOST_TEST_REQUIRE(pImpl->source().has_value());
	Config::Settings settings = settingsFor("127.0.0.1:0", ", \"acceptProxyProtocol\": \"any\", \"trustedProxies\": [\"127.0.0.0/8\"]");
	BOOST_TEST(Proxy::InboundProxy::trusted(settings, *pImpl->source()));
	Proxy::InboundProxy::Result read = Proxy::InboundProxy::read(accepted.impl()->sockfd(), ProxyProtocol::Accept::ANY,
		std::chrono::milliseconds(3000));
	BOOST_TEST_REQUIRE(read.refusal.has_value(), read.reason);
	BOOST_TEST(static_cast<int>(*read.refusal) == static_cast<int>(Stats::Refusal::PROXY_LOCAL), read.reason);
}

BOOST_AUTO_TEST_SUITE_END()
