// The scale-out path of README "Scaling out", on loopback: HAProxy as the load balancer
// (connecting from its own address, 127.0.0.3) in front of two ForwardOptimal instances that
// accept its PROXY header (acceptProxyProtocol, trustedProxies 127.0.0.3/32) and send their own,
// v2 with TLVs, to a recording backend: a second HAProxy with `accept-proxy` that answers and
// logs the source, the UNIQUE_ID and the AUTHORITY it read from the header
// (fc_pp_unique_id, fc_pp_authority). The test's clients connect from 127.0.0.1, so only a
// header carried across both hops can show the backend their address and port.
// Where haproxy is not installed the test exits 77 (CTest: skipped) with the reason.
#include "RunningProxy.h"
#include "SettingsBuilder.h"
#include "TestSupport.h"

#include "proxyprotocol/ProxyHeader.h"

#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/StreamSocket.h"

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <iostream>
#include <set>

#include <unistd.h>

using namespace ForwardOptimal::Test;
using ForwardOptimal::ProxyProtocol::ProxyHeader;
using ForwardOptimal::ProxyProtocol::Tlv;
namespace TlvType = ForwardOptimal::ProxyProtocol::TlvType;

namespace {

const char* BALANCER_HOST = "127.0.0.3";

// Connects from `from` (a loopback address of its own), sends `bytes`, and returns all that
// comes back until the other side closes; "" if it was reset or closed without a byte.
std::string exchange(const std::string& from, const Poco::Net::SocketAddress& to, const std::string& bytes,
	Poco::Net::SocketAddress* pLocal = nullptr)
{
	Poco::Net::StreamSocket socket(Poco::Net::SocketAddress::IPv4);
	socket.impl()->bind(Poco::Net::SocketAddress(from, 0), false);
	socket.connect(to, Poco::Timespan(5, 0));
	if (pLocal)
		*pLocal = socket.address();
	socket.setReceiveTimeout(Poco::Timespan(10, 0));
	socket.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
	std::string response;
	char buffer[4096];
	try
	{
		for (int n; (n = socket.receiveBytes(buffer, sizeof buffer)) > 0;)
			response.append(buffer, static_cast<std::size_t>(n));
	}
	catch (const Poco::Exception&)
	{
	}
	return response;
}

std::string body(const std::string& response)
{
	std::size_t at = response.find("\r\n\r\n");
	return at == std::string::npos ? "no HTTP answer: " + response : response.substr(at + 4);
}

const std::string REQUEST = "GET / HTTP/1.0\r\nHost: lab\r\n\r\n";

std::size_t count(const std::string& text, const std::string& what)
{
	std::size_t n = 0;
	for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
		++n;
	return n;
}

struct Lab
{
	explicit Lab(unsigned maxPerSource = 256)
	{
		if (::access("/usr/sbin/haproxy", X_OK) != 0)
		{
			std::cout << "SKIPPED: /usr/sbin/haproxy is not installed (./scripts/test.sh installs it)" << std::endl;
			std::exit(77);
		}
		std::string backendConfig = dir.write("backend.cfg",
			"global\n  maxconn 100\n  log stdout format raw local0\n"
			"defaults\n  mode http\n  log global\n  timeout connect 5s\n  timeout client 10s\n  timeout server 10s\n"
			"frontend recorder\n  bind fd@3 accept-proxy\n"
			"  log-format \"SEEN %ci %cp uid=%[fc_pp_unique_id] auth=%[fc_pp_authority]\"\n"
			"  http-request return status 200 content-type text/plain lf-string \"%[src] %[src_port] uid=%[fc_pp_unique_id] auth=%[fc_pp_authority]\"\n");
		backend = std::make_unique<ChildProcess>(std::vector<std::string>{"/usr/sbin/haproxy", "-db", "-f", backendConfig}, "",
			backendSocket.impl()->sockfd());
		std::string target = "127.0.0.1:" + std::to_string(backendSocket.address().port());
		for (int i = 0; i < 2; ++i)
		{
			instances.push_back(std::make_unique<RunningProxy>(SettingsBuilder::loopback({target})
				.set("updateInterval", 60).set("proxyProtocol", "v2").setList("proxyProtocolTlvs", {"unique_id", "crc32c", "passthrough"})
				.set("acceptProxyProtocol", "any").setList("trustedProxies", {std::string(BALANCER_HOST) + "/32"})
				.set("maxConnectionsPerSource", static_cast<int>(maxPerSource))));
			BOOST_TEST_REQUIRE(instances.back()->waitForLog("✅ 在线 " + target), instances.back()->log());
		}
	}

	// The balancer in front of both instances, `v2`: send-proxy-v2 with the balancer's own
	// UNIQUE_ID and a CRC32C, its TCP checks sending LOCAL headers; else send-proxy (v1), checked
	// on each instance's /healthz.
	void startBalancer(bool v2)
	{
		std::string servers;
		for (std::size_t i = 0; i < instances.size(); ++i)
		{
			std::string admin = instances[i]->adminAddress();
			servers += "  server fo" + std::to_string(i + 1) + " " + instances[i]->listenAddress() + " source " + BALANCER_HOST
				+ (v2 ? " send-proxy-v2 proxy-v2-options unique-id,crc32c check"
					: " send-proxy check port " + admin.substr(admin.rfind(':') + 1))
				+ " inter 200 fall 1 rise 1\n";
		}
		std::string config = dir.write("balancer.cfg",
			"global\n  maxconn 100\n"
			"defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n"
			"frontend lb\n  bind fd@3\n  unique-id-format lab-%{+X}o%cp-%rt\n  default_backend instances\n"
			"backend instances\n  balance roundrobin\n  retries 2\n  option redispatch 1\n"
			+ std::string(v2 ? "" : "  option httpchk GET /healthz\n") + servers);
		balancer = std::make_unique<ChildProcess>(std::vector<std::string>{"/usr/sbin/haproxy", "-db", "-f", config}, "",
			balancerSocket.impl()->sockfd());
		BOOST_TEST_REQUIRE(waitFor([&] { return body(exchange("127.0.0.1", balancerAddress(), REQUEST)).rfind("127.0.0.1 ", 0) == 0; }, 20s),
			balancer->all());
	}

	Poco::Net::SocketAddress balancerAddress() const { return balancerSocket.address(); }

	// One request through the balancer: what the backend saw must be this client's address and port.
	std::string throughBalancer()
	{
		Poco::Net::SocketAddress client;
		std::string seen = body(exchange("127.0.0.1", balancerAddress(), REQUEST, &client));
		BOOST_TEST(seen.rfind("127.0.0.1 " + std::to_string(client.port()) + " uid=", 0) == 0u,
			"the backend saw \"" << seen << "\" for client " << client.toString());
		return seen;
	}

	TempDir dir;
	Poco::Net::ServerSocket backendSocket{Poco::Net::SocketAddress("127.0.0.1", 0)};
	Poco::Net::ServerSocket balancerSocket{Poco::Net::SocketAddress("127.0.0.1", 0)};
	std::unique_ptr<ChildProcess> backend;
	std::vector<std::unique_ptr<RunningProxy>> instances;
	std::unique_ptr<ChildProcess> balancer;
};

void servesThroughEitherInstance(bool v2)
{
	Lab lab;
	lab.startBalancer(v2);
	std::set<std::string> ids;
	for (int i = 0; i < 6; ++i)
	{
		std::string seen = lab.throughBalancer();
		std::string id = seen.substr(seen.find("uid=") + 4, seen.find(" auth=") - seen.find("uid=") - 4);
		BOOST_TEST(!id.empty(), seen);
		if (v2)
			BOOST_TEST(id.rfind("lab-", 0) == 0u, "the balancer's UNIQUE_ID is passed on: " << seen);
		else
			BOOST_TEST(id.size() == 32u, "an instance's own id: " << seen);
		ids.insert(id);
	}
	BOOST_TEST(ids.size() == 6u, "one id per session");
	// Round robin: both instances served clients.
	for (auto& instance : lab.instances)
		BOOST_TEST(instance->admin().metric("forwardoptimal_connections_accepted_total") >= 3);
	if (v2) // the balancer's checks are LOCAL headers: closed quietly, counted, nothing forwarded
		BOOST_TEST(waitFor([&] { return lab.instances[0]->admin().metric("forwardoptimal_connections_refused_total",
			{{"reason", "proxy_local"}}) >= 1; }, 10s));

	// One instance dies mid-run: new clients go on being served by the other.
	lab.instances[0]->signal(SIGKILL);
	BOOST_TEST_REQUIRE(lab.instances[0]->waitExit(10s).has_value());
	for (int i = 0; i < 8; ++i)
		lab.throughBalancer();
	BOOST_TEST(lab.backend->all().find("SEEN 127.0.0.3") == std::string::npos, "the balancer's address never reached the backend:\n"
		<< lab.backend->all());
}

} // namespace

BOOST_AUTO_TEST_SUITE(scale_out_tests)

BOOST_AUTO_TEST_CASE(haproxy_v2_balancer_clients_keep_their_address_and_survive_an_instance)
{
	servesThroughEitherInstance(true);
}

BOOST_AUTO_TEST_CASE(haproxy_v1_balancer_clients_keep_their_address_and_survive_an_instance)
{
	servesThroughEitherInstance(false);
}

BOOST_AUTO_TEST_CASE(a_forged_header_from_an_untrusted_client_is_only_data)
{
	Lab lab;
	Poco::Net::SocketAddress client;
	std::string forged = "PROXY TCP4 198.18.0.66 198.18.0.1 4444 80\r\n" + REQUEST;
	exchange("127.0.0.1", lab.instances[0]->listen(), forged, &client);
	std::string forgedV2 = ProxyHeader::v2(Poco::Net::SocketAddress("198.18.0.67", 4445), Poco::Net::SocketAddress("198.18.0.1", 80))
		+ REQUEST;
	Poco::Net::SocketAddress client2;
	exchange("127.0.0.1", lab.instances[0]->listen(), forgedV2, &client2);
	// The backend read ForwardOptimal's header (the real client) and then the forged bytes as data.
	BOOST_TEST(lab.backend->waitForOutput("SEEN 127.0.0.1 " + std::to_string(client2.port()), 10s), lab.backend->all());
	BOOST_TEST(lab.backend->all().find("SEEN 127.0.0.1 " + std::to_string(client.port())) != std::string::npos, lab.backend->all());
	BOOST_TEST(lab.backend->all().find("198.18.0.6") == std::string::npos, lab.backend->all());
	AdminClient admin = lab.instances[0]->admin();
	BOOST_TEST(admin.metric("forwardoptimal_connections_refused_total", {{"reason", "proxy_header_missing"}}) == 0);
	BOOST_TEST(admin.metric("forwardoptimal_connections_refused_total", {{"reason", "proxy_header_invalid"}}) == 0);
}

BOOST_AUTO_TEST_CASE(garbage_from_the_trusted_balancer_never_reaches_the_backend)
{
	Lab lab;
	Poco::Net::SocketAddress to = lab.instances[0]->listen();
	BOOST_TEST(exchange(BALANCER_HOST, to, "GARBAGE, NOT A PROXY HEADER\r\n" + REQUEST) == "");
	BOOST_TEST(exchange(BALANCER_HOST, to, "PROXY TCP4 198.18.0.5 198.18.0.1 01 80\r\n" + REQUEST) == "");
	std::string badCrc = ProxyHeader::v2(Poco::Net::SocketAddress("198.18.0.5", 1), Poco::Net::SocketAddress("198.18.0.1", 80), {}, true);
	badCrc[20] = static_cast<char>(badCrc[20] ^ 1);
	BOOST_TEST(exchange(BALANCER_HOST, to, badCrc + REQUEST) == "");
	AdminClient admin = lab.instances[0]->admin();
	BOOST_TEST(admin.metric("forwardoptimal_connections_refused_total", {{"reason", "proxy_header_missing"}}) == 1);
	BOOST_TEST(admin.metric("forwardoptimal_connections_refused_total", {{"reason", "proxy_header_invalid"}}) == 2);
	BOOST_TEST(lab.instances[0]->waitForLog("可信负载均衡器发来的 PROXY 头无效"), lab.instances[0]->log());
	// A valid header after them: the backend logs it, and nothing of the three before.
	std::string header = ProxyHeader::v2(Poco::Net::SocketAddress("198.18.0.5", 5555), Poco::Net::SocketAddress("198.18.0.1", 80),
		{{TlvType::UNIQUE_ID, "lab-session-1"}, {TlvType::AUTHORITY, "svc.example"}, {TlvType::ALPN, "h2"}}, true);
	BOOST_TEST(body(exchange(BALANCER_HOST, to, header + REQUEST)) == "198.18.0.5 5555 uid=lab-session-1 auth=svc.example");
	BOOST_TEST(lab.backend->waitForOutput("SEEN 198.18.0.5 5555 uid=lab-session-1 auth=svc.example", 10s), lab.backend->all());
	BOOST_TEST(count(lab.backend->all(), "SEEN ") == 1u, lab.backend->all());
	// A header that stops halfway: reset after proxyHeaderTimeout (3 s), counted.
	Poco::Net::StreamSocket slow(Poco::Net::SocketAddress::IPv4);
	slow.impl()->bind(Poco::Net::SocketAddress(BALANCER_HOST, 0), false);
	slow.connect(to);
	slow.sendBytes("PROXY TCP4 198.18", 17);
	BOOST_TEST(waitFor([&] { return admin.metric("forwardoptimal_connections_refused_total", {{"reason", "proxy_header_timeout"}}) == 1; },
		10s));
}

BOOST_AUTO_TEST_CASE(the_per_source_limit_counts_the_client_the_header_names_not_the_balancer)
{
	Lab lab(2);
	Poco::Net::SocketAddress to = lab.instances[0]->listen();
	auto hold = [&](const std::string& source) {
		auto socket = std::make_unique<Poco::Net::StreamSocket>(Poco::Net::SocketAddress::IPv4);
		socket->impl()->bind(Poco::Net::SocketAddress(BALANCER_HOST, 0), false);
		socket->connect(to);
		std::string header = ProxyHeader::v1(Poco::Net::SocketAddress(source, 1000), Poco::Net::SocketAddress("198.18.0.1", 80));
		socket->sendBytes(header.data(), static_cast<int>(header.size()));
		return socket;
	};
	AdminClient admin = lab.instances[0]->admin();
	auto a = hold("198.18.0.9");
	auto b = hold("198.18.0.9");
	BOOST_TEST_REQUIRE(waitFor([&] { return admin.metric("forwardoptimal_connections_active") == 2; }, 10s));
	// A third session of the same client is refused; other clients of the same balancer are not.
	std::string third = ProxyHeader::v1(Poco::Net::SocketAddress("198.18.0.9", 1001), Poco::Net::SocketAddress("198.18.0.1", 80));
	BOOST_TEST(exchange(BALANCER_HOST, to, third + REQUEST) == "");
	BOOST_TEST(admin.metric("forwardoptimal_connections_refused_total", {{"reason", "per_source_limit"}}) == 1);
	BOOST_TEST(lab.instances[0]->waitForLog("198.18.0.9:1001 via 127.0.0.3"), lab.instances[0]->log());
	for (int i = 0; i < 3; ++i)
	{
		std::string other = ProxyHeader::v1(Poco::Net::SocketAddress("198.18.0.10", static_cast<Poco::UInt16>(2000 + i)),
			Poco::Net::SocketAddress("198.18.0.1", 80));
		BOOST_TEST(body(exchange(BALANCER_HOST, to, other + REQUEST)).rfind("198.18.0.10 " + std::to_string(2000 + i), 0) == 0u);
	}
}

BOOST_AUTO_TEST_SUITE_END()
