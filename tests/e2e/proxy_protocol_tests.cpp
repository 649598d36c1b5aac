// The PROXY protocol header as real receivers read it: HAProxy (`accept-proxy`) and nginx
// (`listen ... proxy_protocol`), both strict, run as the test's own foreground processes on
// loopback. Each answers an HTTP request with the client address it took from the header;
// that must be the address of the test's client socket, for v1 and v2, and through a
// dual-stack listener (IPv4-mapped client addresses must arrive as plain IPv4).
// Where haproxy or nginx is not installed the test exits 77 (CTest: skipped) with the reason.
#include "TestSupport.h"

#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/StreamSocket.h"

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <iostream>

#include <unistd.h>

using namespace ForwardOptimal::Test;

namespace {

std::uint16_t freePort()
{
	Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
	return socket.address().port();
}

bool listening(std::uint16_t port)
{
	try
	{
		Poco::Net::StreamSocket probe;
		probe.connect(Poco::Net::SocketAddress("127.0.0.1", port), Poco::Timespan(1, 0));
		return true;
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
		haproxyPort = freePort();
		std::string haproxyConfig = dir.write("haproxy.cfg",
			"global\n  maxconn 100\n"
			"defaults\n  mode http\n  timeout connect 5s\n  timeout client 10s\n  timeout server 10s\n"
			"frontend fe\n  bind 127.0.0.1:" + std::to_string(haproxyPort) + " accept-proxy\n"
			"  http-request return status 200 content-type text/plain lf-string \"%[src] %[src_port] %[dst] %[dst_port]\"\n");
		haproxy = std::make_unique<ChildProcess>(std::vector<std::string>{"/usr/sbin/haproxy", "-db", "-f", haproxyConfig});

		nginxPort = freePort();
		std::string nginxConfig = dir.write("nginx.conf",
			"daemon off;\nmaster_process off;\nworker_processes 1;\npid " + dir.path() + "/nginx.pid;\n"
			"error_log stderr info;\nevents { worker_connections 64; }\n"
			"http {\n  access_log off;\n"
			"  client_body_temp_path " + dir.path() + "/body;\n  proxy_temp_path " + dir.path() + "/proxy;\n"
			"  fastcgi_temp_path " + dir.path() + "/fastcgi;\n  uwsgi_temp_path " + dir.path() + "/uwsgi;\n"
			"  scgi_temp_path " + dir.path() + "/scgi;\n"
			"  server {\n    listen 127.0.0.1:" + std::to_string(nginxPort) + " proxy_protocol;\n"
			"    location / { return 200 \"$proxy_protocol_addr $proxy_protocol_port $proxy_protocol_server_addr $proxy_protocol_server_port\"; }\n"
			"  }\n}\n");
		nginx = std::make_unique<ChildProcess>(std::vector<std::string>{"/usr/sbin/nginx", "-p", dir.path(), "-c", nginxConfig, "-e", "stderr"});

		BOOST_TEST_REQUIRE(waitFor([&] { return listening(haproxyPort); }, 10s), haproxy->all());
		BOOST_TEST_REQUIRE(waitFor([&] { return listening(nginxPort); }, 10s), nginx->all());
	}

	// ForwardOptimal in front of one receiver, ready to forward.
	std::unique_ptr<ChildProcess> forwardOptimal(std::uint16_t target, const std::string& version, const std::string& bind = "127.0.0.1:0")
	{
		std::string config = dir.write("fo-" + version + std::to_string(target) + ".json", "{\"bindAddr\": \"" + bind + "\","
			" \"targets\": [\"127.0.0.1:" + std::to_string(target) + "\"], \"updateInterval\": 60, \"proxyProtocol\": \"" + version + "\","
			" \"adminAddr\": \"\"}");
		auto process = std::make_unique<ChildProcess>(std::vector<std::string>{binaryPath(), "-c", config});
		BOOST_TEST_REQUIRE(process->waitForOutput("目标节点数量", 20s), process->all());
		BOOST_TEST_REQUIRE(process->all().find("✅ 在线 127.0.0.1:" + std::to_string(target)) != std::string::npos, process->all());
		return process;
	}

	TempDir dir;
	std::uint16_t haproxyPort = 0;
	std::uint16_t nginxPort = 0;
	std::unique_ptr<ChildProcess> haproxy;
	std::unique_ptr<ChildProcess> nginx;
};

Poco::Net::SocketAddress listenAddress(const ChildProcess& process)
{
	std::string address = listenAddressFromLog(process.all());
	std::uint16_t port = static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
	return Poco::Net::SocketAddress("127.0.0.1", port);
}

void expectRealClient(Receivers& receivers, std::uint16_t receiverPort, const std::string& version, const std::string& bind)
{
	auto forwarder = receivers.forwardOptimal(receiverPort, version, bind);
	Poco::Net::SocketAddress proxy = listenAddress(*forwarder);
	for (int i = 0; i < 3; ++i)
	{
		Poco::Net::SocketAddress client;
		std::string seen = ask(proxy, client);
		BOOST_TEST(seen == "127.0.0.1 " + std::to_string(client.port()) + " 127.0.0.1 " + std::to_string(proxy.port()),
			version << " via " << bind << ": " << seen);
	}
	forwarder->signal(SIGTERM);
	BOOST_TEST(forwarder->waitExit(20s).value_or(-1) == 0);
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

BOOST_AUTO_TEST_CASE(health_probes_do_not_upset_strict_receivers)
{
	Receivers receivers;
	auto forwarder = receivers.forwardOptimal(receivers.nginxPort, "v1");
	forwarder->signal(SIGTERM);
	forwarder->waitExit(20s);
	// nginx logs a broken PROXY header as "broken header"; a valid v1 line from the probe is fine.
	BOOST_TEST(receivers.nginx->all().find("broken header") == std::string::npos, receivers.nginx->all());
}

BOOST_AUTO_TEST_SUITE_END()
