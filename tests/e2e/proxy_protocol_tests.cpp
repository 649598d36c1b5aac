// The PROXY protocol header as real receivers read it: HAProxy (`accept-proxy`) and nginx
// (`listen ... proxy_protocol`), both strict, run as the test's own foreground processes on
// loopback. Each answers an HTTP request with the client address it took from the header;
// that must be the address of the test's client socket, for v1 and v2, and through a
// dual-stack listener (IPv4-mapped client addresses must arrive as plain IPv4).
// Where haproxy or nginx is not installed the test exits 77 (CTest: skipped) with the reason.
#include "RunningProxy.h"
#include "SettingsBuilder.h"
#include "TestSupport.h"

#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/StreamSocket.h"

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <iostream>

#include <unistd.h>

using namespace ForwardOptimal::Test;

namespace {

// A port nothing listened on a moment ago (see the retry where it is used).
std::uint16_t unusedPort()
{
	Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
	return socket.address().port();
}

// True once the receiver on `port` answers a request that carries a valid v1 header (the
// addresses in it are only text). The test's own socket listens from the start, so a
// connection alone would prove nothing.
bool answers(std::uint16_t port)
{
	try
	{
		Poco::Net::StreamSocket client(Poco::Net::SocketAddress("127.0.0.1", port));
		client.setReceiveTimeout(Poco::Timespan(2, 0));
		std::string request = "PROXY TCP4 198.18.0.1 198.18.0.2 1111 2222\r\nGET / HTTP/1.0\r\nHost: test\r\n\r\n";
		client.sendBytes(request.data(), static_cast<int>(request.size()));
		std::string response;
		char buffer[4096];
		for (int n; (n = client.receiveBytes(buffer, sizeof buffer)) > 0;)
			response.append(buffer, static_cast<std::size_t>(n));
		return response.find("198.18.0.1 1111 198.18.0.2 2222") != std::string::npos;
	}
	catch (const Poco::Exception&)
	{
		return false;
	}
}

// Sends one HTTP request and returns the body of the answer.
std::string ask(const Poco::Net::SocketAddress& address, Poco::Net::SocketAddress& clientAddress)
{
	Poco::Net::StreamSocket client(address);
	client.setReceiveTimeout(Poco::Timespan(10, 0));
	clientAddress = client.address();
	std::string request = "GET / HTTP/1.0\r\nHost: test\r\n\r\n";
	client.sendBytes(request.data(), static_cast<int>(request.size()));
	std::string response;
	char buffer[4096];
	try
	{
		for (int n; (n = client.receiveBytes(buffer, sizeof buffer)) > 0;)
			response.append(buffer, static_cast<std::size_t>(n));
	}
	catch (const Poco::Exception&)
	{
	}
	std::size_t body = response.find("\r\n\r\n");
	return body == std::string::npos ? "no HTTP answer: " + response : response.substr(body + 4);
}

struct Receivers
{
	Receivers()
	{
		for (const char* binary : {"/usr/sbin/haproxy", "/usr/sbin/nginx"})
		{
			if (::access(binary, X_OK) != 0)
			{
				std::cout << "SKIPPED: " << binary << " is not installed (./scripts/test.sh installs it)" << std::endl;
				std::exit(77);
			}
		}
		// Neither takes port 0. HAProxy takes the socket the test bound to port 0 as its
		// descriptor 3 ("fd@3").
		haproxyPort = haproxySocket.address().port();
		std::string haproxyConfig = dir.write("haproxy.cfg",
			"global\n  maxconn 100\n"
			"defaults\n  mode http\n  timeout connect 5s\n  timeout client 10s\n  timeout server 10s\n"
			"frontend fe\n  bind fd@3 accept-proxy\n"
			"  http-request return status 200 content-type text/plain lf-string \"%[src] %[src_port] %[dst] %[dst_port]\"\n");
		haproxy = std::make_unique<ChildProcess>(std::vector<std::string>{"/usr/sbin/haproxy", "-db", "-f", haproxyConfig}, "",
			haproxySocket.impl()->sockfd());

		// nginx 1.22 crashes on an inherited socket without its master process, so it gets a
		// port that was free a moment ago; should another process take it first, nginx cannot
		// listen and exits, and another port is tried.
		for (int attempt = 0; attempt < 5; ++attempt)
		{
			nginxPort = unusedPort();
			std::string nginxConfig = dir.write("nginx.conf",
				"daemon off;\nmaster_process off;\nworker_processes 1;\npid " + dir.path() + "/nginx.pid;\n"
				"error_log stderr info;\nevents { worker_connections 64; }\n"
				"http {\n  access_log off;\n"
				"  client_body_temp_path " + dir.path() + "/body;\n  proxy_temp_path " + dir.path() + "/proxy;\n"
				"  fastcgi_temp_path " + dir.path() + "/fastcgi;\n  uwsgi_temp_path " + dir.path() + "/uwsgi;\n"
				"  scgi_temp_path " + dir.path() + "/scgi;\n"
				"  server {\n    listen 127.0.0.1:" + std::to_string(nginxPort) + " proxy_protocol;\n"
				"    listen [::1]:" + std::to_string(nginxPort) + " proxy_protocol;\n"
				"    location / { return 200 \"$proxy_protocol_addr $proxy_protocol_port $proxy_protocol_server_addr $proxy_protocol_server_port\"; }\n"
				"  }\n}\n");
			nginx = std::make_unique<ChildProcess>(std::vector<std::string>{"/usr/sbin/nginx", "-p", dir.path(), "-c", nginxConfig, "-e", "stderr"});
			if (waitFor([&] { return answers(nginxPort) || nginx->waitExit(0ms).has_value(); }, 20s) && !nginx->waitExit(0ms))
				break;
		}

		BOOST_TEST_REQUIRE(waitFor([&] { return answers(haproxyPort); }, 20s), haproxy->all());
		BOOST_TEST_REQUIRE(waitFor([&] { return answers(nginxPort); }, 20s), nginx->all());
	}

	// ForwardOptimal in front of one receiver, ready to forward.
	std::unique_ptr<RunningProxy> forwardOptimal(std::uint16_t target, const std::string& version, const std::string& bind = "127.0.0.1:0",
		const std::string& host = "127.0.0.1")
	{
		std::string address = host + ":" + std::to_string(target);
		auto process = std::make_unique<RunningProxy>(SettingsBuilder::loopback({address})
			.set("bindAddr", bind).set("updateInterval", 60).set("proxyProtocol", version).set("adminAddr", ""));
		BOOST_TEST_REQUIRE(process->waitForLog("✅ 在线 " + address), process->log());
		return process;
	}

	TempDir dir;
	Poco::Net::ServerSocket haproxySocket{Poco::Net::SocketAddress("127.0.0.1", 0)};
	std::uint16_t haproxyPort = 0;
	std::uint16_t nginxPort = 0;
	std::unique_ptr<ChildProcess> haproxy;
	std::unique_ptr<ChildProcess> nginx;
};

void expectRealClient(Receivers& receivers, std::uint16_t receiverPort, const std::string& version, const std::string& bind)
{
	auto forwarder = receivers.forwardOptimal(receiverPort, version, bind);
	// IPv4 even through a dual-stack listener: the client's address must arrive as plain IPv4.
	Poco::Net::SocketAddress proxy("127.0.0.1", forwarder->listen().port());
	for (int i = 0; i < 3; ++i)
	{
		Poco::Net::SocketAddress client;
		std::string seen = ask(proxy, client);
		BOOST_TEST(seen == "127.0.0.1 " + std::to_string(client.port()) + " 127.0.0.1 " + std::to_string(proxy.port()),
			version << " via " << bind << ": " << seen);
	}
	BOOST_TEST(forwarder->stop(SIGTERM) == 0);
}

// Like expectRealClient, from a client of either family to a target of either family: the
// header carries the client side of the connection (the client's address, the address it
// connected to), as HAProxy sends it, whatever the upstream's family.
void expectClientSide(Receivers& receivers, std::uint16_t receiverPort, const std::string& version, const std::string& bind,
	const std::string& clientHost, const std::string& targetHost)
{
	auto forwarder = receivers.forwardOptimal(receiverPort, version, bind, targetHost);
	Poco::Net::SocketAddress proxy(clientHost, forwarder->listen().port());
	std::string host = proxy.host().toString();
	for (int i = 0; i < 2; ++i)
	{
		Poco::Net::SocketAddress client;
		std::string seen = ask(proxy, client);
		BOOST_TEST(seen == host + " " + std::to_string(client.port()) + " " + host + " " + std::to_string(proxy.port()),
			version << " via " << bind << " from " << clientHost << " to " << targetHost << ": " << seen);
	}
	BOOST_TEST(forwarder->stop(SIGTERM) == 0);
}

} // namespace

BOOST_AUTO_TEST_SUITE(proxy_protocol_tests)

BOOST_AUTO_TEST_CASE(receivers_reject_a_connection_without_a_valid_header)
{
	// Shows the receivers are strict, so the cases below can fail.
	Receivers receivers;
	Poco::Net::SocketAddress client;
	BOOST_TEST(ask(Poco::Net::SocketAddress("127.0.0.1", receivers.haproxyPort), client).find("no HTTP answer") == 0u);
	BOOST_TEST(ask(Poco::Net::SocketAddress("127.0.0.1", receivers.nginxPort), client).find("no HTTP answer") == 0u);
	// ...and what nginx says about it, which the probe test below must never see.
	BOOST_TEST(receivers.nginx->waitForOutput("broken header", 5s), receivers.nginx->all());
}

BOOST_AUTO_TEST_CASE(haproxy_sees_the_real_client_with_v1_and_v2)
{
	Receivers receivers;
	expectRealClient(receivers, receivers.haproxyPort, "v1", "127.0.0.1:0");
	expectRealClient(receivers, receivers.haproxyPort, "v2", "127.0.0.1:0");
}

BOOST_AUTO_TEST_CASE(nginx_sees_the_real_client_with_v1_and_v2)
{
	Receivers receivers;
	expectRealClient(receivers, receivers.nginxPort, "v1", "127.0.0.1:0");
	expectRealClient(receivers, receivers.nginxPort, "v2", "127.0.0.1:0");
}

BOOST_AUTO_TEST_CASE(ipv4_clients_of_a_dual_stack_listener_arrive_as_ipv4)
{
	Receivers receivers;
	expectRealClient(receivers, receivers.haproxyPort, "v1", ":0");
	expectRealClient(receivers, receivers.nginxPort, "v2", ":0");
}

BOOST_AUTO_TEST_CASE(ipv6_clients_arrive_as_tcp6_through_ipv6_and_dual_stack_listeners)
{
	Receivers receivers;
	expectClientSide(receivers, receivers.haproxyPort, "v1", "[::1]:0", "::1", "127.0.0.1");
	expectClientSide(receivers, receivers.haproxyPort, "v2", "[::1]:0", "::1", "127.0.0.1");
	expectClientSide(receivers, receivers.nginxPort, "v1", ":0", "::1", "127.0.0.1");
	expectClientSide(receivers, receivers.nginxPort, "v2", "[::]:0", "::1", "127.0.0.1");
}

BOOST_AUTO_TEST_CASE(ipv6_targets_get_the_client_side_header_whatever_the_client_family)
{
	// nginx listens on [::1] too: the upstream connection is IPv6. An IPv4 client still gives
	// TCP4 (what HAProxy sends: the header describes the client's connection), an IPv6 one TCP6.
	Receivers receivers;
	expectClientSide(receivers, receivers.nginxPort, "v1", "127.0.0.1:0", "127.0.0.1", "[::1]");
	expectClientSide(receivers, receivers.nginxPort, "v2", "127.0.0.1:0", "127.0.0.1", "[::1]");
	expectClientSide(receivers, receivers.nginxPort, "v1", "[::1]:0", "::1", "[::1]");
	expectClientSide(receivers, receivers.nginxPort, "v2", ":0", "::1", "[::1]");
}

BOOST_AUTO_TEST_CASE(health_probes_do_not_upset_strict_receivers)
{
	Receivers receivers;
	auto forwarder = receivers.forwardOptimal(receivers.nginxPort, "v1");
	forwarder->stop(SIGTERM);
	// nginx logs a broken PROXY header as "broken header"; a valid v1 line from the probe is fine.
	BOOST_TEST(receivers.nginx->all().find("broken header") == std::string::npos, receivers.nginx->all());
}

BOOST_AUTO_TEST_SUITE_END()
