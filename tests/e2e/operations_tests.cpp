// What an operator sees and does, with the real binary: the admin endpoint (/metrics checked by
// promtool and scraped by a real Prometheus server, /status, /healthz, /readyz, 404/405) and
// the graceful drain on SIGTERM.
#include "Backend.h"
#include "TestSupport.h"

#include "Poco/JSON/Object.h"
#include "Poco/JSON/Parser.h"
#include "Poco/Net/HTTPClientSession.h"
#include "Poco/Net/HTTPRequest.h"
#include "Poco/Net/HTTPResponse.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/StreamCopier.h"
#include "Poco/URI.h"

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <fstream>
#include <thread>

using namespace ForwardOptimal::Test;

namespace {

struct Reply
{
	int status = 0;
	std::string type;
	std::string body;
};

Reply http(const std::string& address, const std::string& path, const std::string& method = "GET")
{
	Poco::URI uri("http://" + address);
	Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
	session.setTimeout(Poco::Timespan(10, 0));
	Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
	session.sendRequest(request);
	Poco::Net::HTTPResponse response;
	std::istream& in = session.receiveResponse(response);
	Reply reply;
	reply.status = response.getStatus();
	reply.type = response.getContentType();
	Poco::StreamCopier::copyToString(in, reply.body);
	return reply;
}

// The value of one sample line ("name{labels} value") of a metrics text, or -1.
double sample(const std::string& metrics, const std::string& series)
{
	std::size_t at = metrics.find("\n" + series + " ");
	return at == std::string::npos ? -1 : std::stod(metrics.substr(at + series.size() + 2));
}

// ForwardOptimal in front of `target`, probing every 0.3 s, admin endpoint on a free port.
struct Running
{
	Running(const std::string& target, const std::string& extra = std::string()):
		config(dir.write("fo.json", "{\"bindAddr\": \"127.0.0.1:0\", \"targets\": [\"" + target + "\"],"
			" \"updateInterval\": 0.3, \"failureInterval\": 0.3, \"adminAddr\": \"127.0.0.1:0\"" + extra + "}")),
		process({binaryPath(), "-c", config})
	{
		BOOST_TEST_REQUIRE(process.waitForOutput("管理接口: http://", 20s), process.all());
		admin = adminAddressFromLog(process.all());
		std::string listen = listenAddressFromLog(process.all());
		proxy = Poco::Net::SocketAddress(listen);
	}

	TempDir dir;
	std::string config;
	ChildProcess process;
	std::string admin;
	Poco::Net::SocketAddress proxy;
};

} // namespace

BOOST_AUTO_TEST_SUITE(operations_tests)

BOOST_AUTO_TEST_CASE(metrics_pass_promtool_and_count_the_traffic)
{
	Backend backend(Backend::echo());
	Running fo(backend.address());
	Poco::Net::StreamSocket client(fo.proxy);
	Backend::sendAll(client, "ping");
	client.shutdownSend();
	BOOST_TEST(Backend::readAll(client) == "ping");

	Reply metrics;
	BOOST_TEST(waitFor([&] {
		metrics = http(fo.admin, "/metrics");
		return sample(metrics.body, "forwardoptimal_bytes_total{direction=\"client_to_upstream\"}") == 4;
	}, 10s), metrics.body);
	BOOST_TEST(metrics.status == 200);
	BOOST_TEST(metrics.type.find("text/plain; version=0.0.4") == 0u, metrics.type);
	BOOST_TEST(sample(metrics.body, "forwardoptimal_connections_accepted_total") == 1);
	BOOST_TEST(sample(metrics.body, "forwardoptimal_target_up{target=\"" + backend.address() + "\"}") == 1);
	BOOST_TEST(sample(metrics.body, "forwardoptimal_target_best{target=\"" + backend.address() + "\"}") == 1);
	BOOST_TEST(sample(metrics.body, "forwardoptimal_health_rounds_total") >= 1);
	BOOST_TEST(metrics.body.find("# TYPE forwardoptimal_probe_latency_seconds histogram") != std::string::npos);
	BOOST_TEST(sample(metrics.body, "forwardoptimal_pool_size") == 2);
	BOOST_TEST(sample(metrics.body, "forwardoptimal_pool_hits_total") + sample(metrics.body, "forwardoptimal_pool_misses_total") == 1);
	BOOST_TEST(metrics.body.find("forwardoptimal_build_info{version=\"1.") != std::string::npos);

	std::string file = fo.dir.write("metrics.txt", metrics.body);
	std::string out, err;
	int code = ChildProcess::run({"/bin/sh", "-c", "promtool check metrics < '" + file + "'"}, out, err);
	BOOST_TEST(code == 0, out << err);
}

BOOST_AUTO_TEST_CASE(a_real_prometheus_scrapes_it)
{
	Backend backend(Backend::echo());
	Running fo(backend.address());
	Poco::Net::ServerSocket reserve(Poco::Net::SocketAddress("127.0.0.1", 0));
	std::string web = reserve.address().toString();
	reserve.close();
	std::string config = fo.dir.write("prometheus.yml",
		"global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
		"scrape_configs:\n  - job_name: forwardoptimal\n    static_configs:\n      - targets: ['" + fo.admin + "']\n");
	ChildProcess prometheus({"/usr/bin/prometheus", "--config.file=" + config, "--web.listen-address=" + web,
		"--storage.tsdb.path=" + fo.dir.path() + "/tsdb"});
	auto query = [&](const std::string& expression) {
		try
		{
			Reply reply = http(web, "/api/v1/query?query=" + expression);
			Poco::JSON::Object::Ptr json = Poco::JSON::Parser().parse(reply.body).extract<Poco::JSON::Object::Ptr>();
			auto result = json->getObject("data")->getArray("result");
			if (result->size() == 0)
				return -1.0;
			return std::stod(result->getObject(0)->getArray("value")->getElement<std::string>(1));
		}
		catch (const Poco::Exception&)
		{
			return -1.0;
		}
	};
	BOOST_TEST(waitFor([&] { return query("up") == 1.0; }, 60s), prometheus.all());
	double before = query("forwardoptimal_connections_accepted_total");
	BOOST_TEST(before >= 0.0);
	for (int i = 0; i < 3; ++i)
	{
		Poco::Net::StreamSocket client(fo.proxy);
		client.shutdownSend();
		Backend::readAll(client);
	}
	BOOST_TEST(waitFor([&] { return query("forwardoptimal_connections_accepted_total") >= before + 3; }, 30s));
}

BOOST_AUTO_TEST_CASE(status_is_json_with_the_documented_fields)
{
	Backend backend(Backend::echo());
	Running fo(backend.address());
	Reply status = http(fo.admin, "/status");
	BOOST_TEST(status.status == 200);
	BOOST_TEST(status.type == "application/json");
	Poco::JSON::Object::Ptr json = Poco::JSON::Parser().parse(status.body).extract<Poco::JSON::Object::Ptr>();
	BOOST_TEST(json->getValue<std::string>("state") == "serving");
	BOOST_TEST(json->getValue<std::string>("best") == backend.address());
	BOOST_TEST(json->getValue<std::string>("configFile") == fo.config);
	BOOST_TEST(json->getValue<std::string>("version").find("1.") == 0u);
	BOOST_TEST(json->has("uptimeSeconds"));
	auto targets = json->getArray("targets");
	BOOST_TEST_REQUIRE(targets->size() == 1u);
	BOOST_TEST(targets->getObject(0)->getValue<bool>("healthy"));
	BOOST_TEST(targets->getObject(0)->has("smoothedLatencyMs"));
	BOOST_TEST(json->getObject("connections")->has("accepted"));
	BOOST_TEST(json->getObject("pool")->getValue<int>("size") == 2);
	BOOST_TEST(json->getObject("pool")->getValue<int>("maxIdleMs") == 10000); // poolMaxIdle's default
	BOOST_TEST(json->getObject("pool")->isNull("learnedIdleLifetimeMs"));
}

BOOST_AUTO_TEST_CASE(the_pool_reports_a_targets_idle_timeout_it_learned)
{
	// A server that drops connections silent for 500 ms, sooner than the pool's 10 s.
	Backend backend([](Poco::Net::StreamSocket& socket) {
		if (socket.poll(Poco::Timespan(0, 500000), Poco::Net::Socket::SELECT_READ))
			Backend::sendAll(socket, "served");
	});
	Running fo(backend.address(), ", \"poolSize\": 2");
	Poco::JSON::Object::Ptr pool;
	BOOST_TEST(waitFor([&] {
		Reply status = http(fo.admin, "/status");
		pool = Poco::JSON::Parser().parse(status.body).extract<Poco::JSON::Object::Ptr>()->getObject("pool");
		return !pool->isNull("learnedIdleLifetimeMs");
	}, 30s), fo.process.all());
	int learned = pool->getValue<int>("learnedIdleLifetimeMs");
	BOOST_TEST(learned >= 500);
	BOOST_TEST(learned < 1500);
	BOOST_TEST(pool->getValue<int>("maxIdleMs") == learned / 2);
	BOOST_TEST(fo.process.waitForOutput("🔄 目标 " + backend.address() + " 约 ", 10s), fo.process.all());
	BOOST_TEST(fo.process.all().find("ms 后关闭空闲连接; 连接池改为 " + std::to_string(learned / 2) + " ms 后更换预连接") != std::string::npos,
		fo.process.all());
	Reply metrics = http(fo.admin, "/metrics");
	BOOST_TEST(sample(metrics.body, "forwardoptimal_pool_max_idle_seconds") == learned / 2 / 1000.0);
}

BOOST_AUTO_TEST_CASE(readyz_follows_the_targets_and_healthz_the_process)
{
	std::uint16_t port;
	{
		Poco::Net::ServerSocket reserve(Poco::Net::SocketAddress("127.0.0.1", 0));
		port = reserve.address().port();
	}
	std::string target = "127.0.0.1:" + std::to_string(port);
	auto backend = std::make_unique<Backend>(Backend::echo(), target);
	Running fo(target);
	BOOST_TEST(http(fo.admin, "/healthz").status == 200);
	BOOST_TEST(waitFor([&] { return http(fo.admin, "/readyz").status == 200; }, 10s));
	backend.reset();
	BOOST_TEST(waitFor([&] { return http(fo.admin, "/readyz").status == 503; }, 10s), http(fo.admin, "/status").body);
	BOOST_TEST(http(fo.admin, "/healthz").status == 200); // the process still serves (it refuses fast)
	backend = std::make_unique<Backend>(Backend::echo(), target);
	BOOST_TEST(waitFor([&] { return http(fo.admin, "/readyz").status == 200; }, 10s));
}

BOOST_AUTO_TEST_CASE(health_check_option_probes_the_admin_endpoint)
{
	// What the Docker HEALTHCHECK runs: no config needed, exit 0 on 2xx, 1 otherwise.
	Backend backend(Backend::echo());
	Running fo(backend.address());
	std::string out, err;
	BOOST_TEST(ChildProcess::run({binaryPath(), "--health-check=http://" + fo.admin + "/healthz"}, out, err) == 0, out << err);
	BOOST_TEST(out.find("200") != std::string::npos, out);
	BOOST_TEST(ChildProcess::run({binaryPath(), "--health-check=http://" + fo.admin + "/nope"}, out, err) == 1, out << err);
	fo.process.signal(SIGTERM);
	fo.process.waitExit(20s);
	BOOST_TEST(ChildProcess::run({binaryPath(), "--health-check=http://" + fo.admin + "/healthz"}, out, err) == 1, out << err);
}

BOOST_AUTO_TEST_CASE(daemon_resolves_a_relative_config_and_says_where_logs_go)
{
	Backend backend(Backend::echo());
	TempDir dir;
	std::string logFile = dir.path() + "/fo.log";
	dir.write("rel.json", "{\"bindAddr\": \"127.0.0.1:0\", \"targets\": [\"" + backend.address() + "\"], \"updateInterval\": 60,"
		" \"adminAddr\": \"127.0.0.1:0\", \"logging\": {\"channels\": {\"file\": {\"class\": \"FileChannel\", \"path\": \""
		+ logFile + "\", \"formatter\": \"fo\"}}, \"loggers\": {\"root\": {\"channel\": \"file\"}}}}");
	std::string pidFile = dir.path() + "/fo.pid";
	ChildProcess launcher({binaryPath(), "-c", "rel.json", "--daemon", "--pidfile=" + pidFile}, dir.path());
	BOOST_TEST(launcher.waitExit(20s).value_or(-1) == 0, launcher.all());
	BOOST_TEST(launcher.err().find("starting as a daemon; logs go to " + logFile) != std::string::npos, launcher.err());
	auto log = [&] {
		std::ifstream in(logFile);
		return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
	};
	BOOST_TEST_REQUIRE(waitFor([&] { return log().find("目标节点数量") != std::string::npos; }, 20s), log());
	BOOST_TEST(log().find("📁 配置文件: " + dir.path() + "/rel.json") != std::string::npos, log()); // resolved before chdir("/")
	pid_t pid = 0;
	std::ifstream(pidFile) >> pid;
	BOOST_TEST_REQUIRE(pid > 0);
	BOOST_TEST(::kill(pid, SIGTERM) == 0);
	BOOST_TEST(waitFor([&] { return ::kill(pid, 0) != 0; }, 20s));
	BOOST_TEST(waitFor([&] { return !std::ifstream(pidFile).good(); }, 5s));
}

BOOST_AUTO_TEST_CASE(daemon_warns_when_logs_would_go_nowhere)
{
	Backend backend(Backend::echo());
	TempDir dir;
	std::string pidFile = dir.path() + "/fo.pid";
	std::string out, err;
	int code = ChildProcess::run({binaryPath(), "-c", dir.write("c.json", "{\"bindAddr\": \"127.0.0.1:0\", \"targets\": [\""
		+ backend.address() + "\"], \"updateInterval\": 60, \"adminAddr\": \"\"}"), "--daemon", "--pidfile=" + pidFile}, out, err);
	BOOST_TEST(code == 0);
	BOOST_TEST(err.find("WARNING: logs go to the console, which a daemon does not have") != std::string::npos, err);
	pid_t pid = 0;
	BOOST_TEST_REQUIRE(waitFor([&] { std::ifstream(pidFile) >> pid; return pid > 0; }, 20s));
	::kill(pid, SIGTERM);
	BOOST_TEST(waitFor([&] { return ::kill(pid, 0) != 0; }, 20s));
}

BOOST_AUTO_TEST_CASE(a_non_loopback_admin_address_is_logged_as_a_choice)
{
	Backend backend(Backend::echo());
	TempDir dir;
	ChildProcess process({binaryPath(), "-c", dir.write("c.json", "{\"bindAddr\": \"127.0.0.1:0\", \"targets\": [\""
		+ backend.address() + "\"], \"updateInterval\": 60, \"adminAddr\": \"0.0.0.0:0\"}")});
	BOOST_TEST(process.waitForOutput("管理接口监听在非回环地址", 20s), process.all());
}

BOOST_AUTO_TEST_CASE(unknown_paths_are_404_and_other_methods_405)
{
	Backend backend(Backend::echo());
	Running fo(backend.address());
	BOOST_TEST(http(fo.admin, "/nope").status == 404);
	Reply post = http(fo.admin, "/metrics", "POST");
	BOOST_TEST(post.status == 405);
	BOOST_TEST(http(fo.admin, "/metrics", "HEAD").status == 200);
}

BOOST_AUTO_TEST_CASE(admin_can_be_turned_off_and_a_taken_admin_port_fails_cleanly)
{
	Backend backend(Backend::echo());
	TempDir dir;
	ChildProcess off({binaryPath(), "-c", dir.write("off.json", "{\"bindAddr\": \"127.0.0.1:0\", \"targets\": [\"" + backend.address()
		+ "\"], \"updateInterval\": 60, \"adminAddr\": \"\"}")});
	BOOST_TEST_REQUIRE(off.waitForOutput("目标节点数量", 20s), off.all());
	BOOST_TEST(off.all().find("管理接口") == std::string::npos);

	Poco::Net::ServerSocket taken(Poco::Net::SocketAddress("127.0.0.1", 0));
	std::string out, err;
	int code = ChildProcess::run({binaryPath(), "-c", dir.write("taken.json", "{\"bindAddr\": \"127.0.0.1:0\", \"targets\": [\""
		+ backend.address() + "\"], \"updateInterval\": 60, \"adminAddr\": \"" + taken.address().toString() + "\"}")}, out, err);
	BOOST_TEST(code == 69);
	BOOST_TEST(err.find("adminAddr") != std::string::npos, err);
	BOOST_TEST(err.find(taken.address().toString()) != std::string::npos, err);
}

// The spec's own keys only (no adminAddr): the default 127.0.0.1:9090 goes to the first instance
// (or to whatever else on this host has it), and the second says so and serves all the same.
BOOST_AUTO_TEST_CASE(two_instances_from_spec_only_configs_serve_side_by_side)
{
	Backend backend(Backend::echo());
	TempDir dir;
	auto specOnly = [&](const std::string& name) {
		return dir.write(name, "{\"bindAddr\": \"127.0.0.1:0\", \"targets\": [\"" + backend.address()
			+ "\"], \"updateInterval\": 60}");
	};
	ChildProcess first({binaryPath(), "-c", specOnly("ssh.json")});
	BOOST_TEST_REQUIRE(first.waitForOutput("管理接口", 20s), first.all());
	ChildProcess second({binaryPath(), "-c", specOnly("game.json")});
	BOOST_TEST_REQUIRE(second.waitForOutput("管理接口", 20s), second.all());
	BOOST_TEST(second.all().find("管理接口默认地址 127.0.0.1:9090 已被占用, 管理接口未启动 (设置 adminAddr") != std::string::npos,
		second.all());

	for (ChildProcess* pInstance : {&first, &second})
	{
		Poco::Net::StreamSocket session(Poco::Net::SocketAddress(listenAddressFromLog(pInstance->all())));
		session.setReceiveTimeout(Poco::Timespan(10, 0));
		Backend::sendAll(session, "side by side");
		session.shutdownSend();
		BOOST_TEST(Backend::readAll(session) == "side by side");
	}
	second.signal(SIGTERM);
	first.signal(SIGTERM);
	BOOST_TEST(second.waitExit(20s).value_or(-1) == 0, second.all());
	BOOST_TEST(first.waitExit(20s).value_or(-1) == 0, first.all());
}

BOOST_AUTO_TEST_CASE(sigterm_drains_sessions_in_flight_and_refuses_new_ones)
{
	Backend backend(Backend::echo());
	Running fo(backend.address(), ", \"drainTimeout\": 30");
	Poco::Net::StreamSocket session(fo.proxy);
	session.setReceiveTimeout(Poco::Timespan(10, 0));
	Backend::sendAll(session, "before ");
	char echoed[7];
	BOOST_TEST_REQUIRE(session.receiveBytes(echoed, 7) == 7); // the session is running, not queued
	fo.process.signal(SIGTERM);
	BOOST_TEST_REQUIRE(fo.process.waitForOutput("不再接受新连接", 10s), fo.process.all());
	BOOST_CHECK_THROW(Poco::Net::StreamSocket{fo.proxy}, Poco::Net::ConnectionRefusedException);
	Backend::sendAll(session, "after");   // the session in flight still works
	session.shutdownSend();
	BOOST_TEST(Backend::readAll(session) == "after");
	BOOST_TEST(fo.process.waitExit(20s).value_or(-1) == 0);
	BOOST_TEST(fo.process.all().find("所有会话已结束") != std::string::npos, fo.process.all());
}

BOOST_AUTO_TEST_CASE(drain_timeout_closes_what_is_left)
{
	Backend backend(Backend::hold());
	Running fo(backend.address(), ", \"drainTimeout\": 0.5");
	Poco::Net::StreamSocket session(fo.proxy);
	BOOST_TEST(waitFor([&] { return sample(http(fo.admin, "/metrics").body, "forwardoptimal_connections_active") == 1; }, 10s));
	fo.process.signal(SIGTERM);
	BOOST_TEST(fo.process.waitExit(20s).value_or(-1) == 0);
	BOOST_TEST(fo.process.all().find("关闭仍在进行的 1 个会话") != std::string::npos, fo.process.all());
}

BOOST_AUTO_TEST_CASE(a_second_signal_stops_at_once)
{
	Backend backend(Backend::hold());
	Running fo(backend.address(), ", \"drainTimeout\": 600");
	Poco::Net::StreamSocket session(fo.proxy);
	BOOST_TEST(waitFor([&] { return sample(http(fo.admin, "/metrics").body, "forwardoptimal_connections_active") == 1; }, 10s));
	fo.process.signal(SIGTERM);
	BOOST_TEST_REQUIRE(fo.process.waitForOutput("不再接受新连接", 10s));
	fo.process.signal(SIGINT);
	BOOST_TEST(fo.process.waitExit(20s).value_or(-1) == 0);
	BOOST_TEST(fo.process.all().find("再次收到信号 SIGINT") != std::string::npos, fo.process.all());
}

BOOST_AUTO_TEST_CASE(sighup_reload_moves_new_clients_and_keeps_running_sessions)
{
	Backend first(Backend::echo("first\n"));
	Backend second(Backend::echo("second\n"));
	Running fo(first.address());
	Poco::Net::StreamSocket before(fo.proxy);
	before.setReceiveTimeout(Poco::Timespan(10, 0));
	char banner[6];
	BOOST_TEST_REQUIRE(before.receiveBytes(banner, 6) == 6);
	BOOST_TEST(std::string(banner, 6) == "first\n");

	auto rewrite = [&](const std::string& content) { fo.dir.write("fo.json", content); };
	auto nextClient = [&] {
		Poco::Net::StreamSocket client(fo.proxy);
		client.shutdownSend();
		return Backend::readAll(client);
	};
	rewrite("{\"bindAddr\": \"127.0.0.1:1\", \"targets\": [\"" + second.address() + "\"],"
		" \"updateInterval\": 0.3, \"adminAddr\": \"127.0.0.1:0\"}");
	fo.process.signal(SIGHUP);
	BOOST_TEST_REQUIRE(fo.process.waitForOutput("配置已重新加载", 20s), fo.process.all());
	BOOST_TEST(fo.process.all().find("bindAddr 从 127.0.0.1:0 改为 127.0.0.1:1 需要重启才能生效") != std::string::npos, fo.process.all());
	BOOST_TEST(nextClient() == "second\n");

	// The session opened before the reload still talks to the first target, intact.
	Backend::sendAll(before, "still here");
	before.shutdownSend();
	BOOST_TEST(Backend::readAll(before) == "still here");

	// Logging follows a reload too: the root logger lowered to warnings silences the reports
	// (and the information line that would confirm the reload itself).
	auto count = [&](const std::string& text) {
		std::string all = fo.process.all();
		std::size_t n = 0;
		for (std::size_t at = all.find(text); at != std::string::npos; at = all.find(text, at + 1))
			++n;
		return n;
	};
	rewrite("{\"bindAddr\": \"127.0.0.1:0\", \"targets\": [\"" + second.address() + "\"], \"updateInterval\": 0.3,"
		" \"adminAddr\": \"127.0.0.1:0\", \"logging\": {\"loggers\": {\"root\": {\"level\": \"warning\"}}}}");
	fo.process.signal(SIGHUP);
	BOOST_TEST_REQUIRE(waitFor([&] { return count("收到 SIGHUP") == 2; }, 20s), fo.process.all());
	std::this_thread::sleep_for(1500ms); // the reload finishes; about five update intervals pass
	std::size_t quiet = fo.process.all().size();
	std::this_thread::sleep_for(1500ms);
	BOOST_TEST(fo.process.all().size() == quiet, "still logging reports after the reload lowered the level");
	BOOST_TEST(nextClient() == "second\n");

	// An invalid file is rejected; the running configuration stays.
	rewrite("{\"bindAddr\": \":1\", \"targets\": [],");
	fo.process.signal(SIGHUP);
	BOOST_TEST(fo.process.waitForOutput("重新加载失败, 继续使用原来的配置", 20s), fo.process.all());
	BOOST_TEST(nextClient() == "second\n");
	fo.process.signal(SIGTERM);
	BOOST_TEST(fo.process.waitExit(20s).value_or(-1) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
