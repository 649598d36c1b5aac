// What an operator sees and does, with the real binary: the admin endpoint (/metrics checked by
// promtool and scraped by a real Prometheus server, /status, /healthz, /readyz, 404/405) and
// the graceful drain on SIGTERM.
#include "Backend.h"
#include "RunningProxy.h"
#include "SettingsBuilder.h"
#include "TestSupport.h"

#include "Poco/JSON/Object.h"
#include "Poco/JSON/Parser.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/StreamSocket.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <thread>

using namespace ForwardOptimal::Test;

namespace {

// ForwardOptimal in front of `target`, probing every 0.3 s, admin endpoint on a port of its own.
SettingsBuilder probingOften(const std::string& target)
{
	return SettingsBuilder::loopback({target}).set("updateInterval", 0.3).set("failureInterval", 0.3);
}

std::string readFile(const std::string& path)
{
	std::ifstream in(path);
	return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

} // namespace

BOOST_AUTO_TEST_SUITE(operations_tests)

BOOST_AUTO_TEST_CASE(metrics_pass_promtool_and_count_the_traffic)
{
	Backend backend(Backend::echo());
	RunningProxy fo(probingOften(backend.address()));
	Poco::Net::StreamSocket client(fo.listen());
	Backend::sendAll(client, "ping");
	client.shutdownSend();
	BOOST_TEST(Backend::readAll(client) == "ping");

	HttpReply metrics;
	BOOST_TEST(waitFor([&] {
		metrics = fo.admin().request("/metrics");
		return AdminClient::sample(metrics.body, "forwardoptimal_bytes_total", {{"direction", "client_to_upstream"}}) == 4;
	}, 10s), metrics.body);
	auto sample = [&](const std::string& name, const AdminClient::Labels& labels = {}) { return AdminClient::sample(metrics.body, name, labels); };
	BOOST_TEST(metrics.status == 200);
	BOOST_TEST(metrics.type.find("text/plain; version=0.0.4") == 0u, metrics.type);
	BOOST_TEST(sample("forwardoptimal_connections_accepted_total") == 1);
	BOOST_TEST(sample("forwardoptimal_target_up", {{"target", backend.address()}}) == 1);
	BOOST_TEST(sample("forwardoptimal_target_best", {{"target", backend.address()}}) == 1);
	BOOST_TEST(sample("forwardoptimal_health_rounds_total") >= 1);
	BOOST_TEST(metrics.body.find("# TYPE forwardoptimal_probe_latency_seconds histogram") != std::string::npos);
	BOOST_TEST(sample("forwardoptimal_pool_size") == 2);
	BOOST_TEST(sample("forwardoptimal_pool_hits_total") + sample("forwardoptimal_pool_misses_total") == 1);
	BOOST_TEST(metrics.body.find("forwardoptimal_build_info{version=\"1.") != std::string::npos);

	std::string file = fo.dir().write("metrics.txt", metrics.body);
	std::string out, err;
	int code = ChildProcess::run({"/bin/sh", "-c", "promtool check metrics < '" + file + "'"}, out, err);
	BOOST_TEST(code == 0, out << err);
}

BOOST_AUTO_TEST_CASE(a_real_prometheus_scrapes_it)
{
	Backend backend(Backend::echo());
	RunningProxy fo(probingOften(backend.address()));
	std::string config = fo.dir().write("prometheus.yml",
		"global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
		"scrape_configs:\n  - job_name: forwardoptimal\n    static_configs:\n      - targets: ['" + fo.adminAddress() + "']\n");
	// Port 0 here too: Prometheus logs the address it really listens on.
	ChildProcess prometheus({"/usr/bin/prometheus", "--config.file=" + config, "--web.listen-address=127.0.0.1:0",
		"--storage.tsdb.path=" + fo.dir().path() + "/tsdb"});
	const std::string listening = "msg=\"Listening on\" address=";
	BOOST_TEST_REQUIRE(prometheus.waitForOutput(listening, 60s), prometheus.all());
	BOOST_TEST_REQUIRE(waitFor([&] { return prometheus.all().find('\n', prometheus.all().find(listening)) != std::string::npos; }, 10s));
	std::string log = prometheus.all();
	std::size_t at = log.find(listening) + listening.size();
	std::string web = log.substr(at, log.find_first_of(" \n", at) - at);
	auto query = [&](const std::string& expression) {
		try
		{
			HttpReply reply = httpRequest(web, "/api/v1/query?query=" + expression);
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
		Poco::Net::StreamSocket client(fo.listen());
		client.shutdownSend();
		Backend::readAll(client);
	}
	BOOST_TEST(waitFor([&] { return query("forwardoptimal_connections_accepted_total") >= before + 3; }, 30s));
}

BOOST_AUTO_TEST_CASE(status_is_json_with_the_documented_fields)
{
	Backend backend(Backend::echo());
	RunningProxy fo(probingOften(backend.address()));
	HttpReply status = fo.admin().request("/status");
	BOOST_TEST(status.status == 200);
	BOOST_TEST(status.type == "application/json");
	Poco::JSON::Object::Ptr json = Poco::JSON::Parser().parse(status.body).extract<Poco::JSON::Object::Ptr>();
	BOOST_TEST(json->getValue<std::string>("state") == "serving");
	BOOST_TEST(json->getValue<std::string>("best") == backend.address());
	BOOST_TEST(json->getValue<std::string>("configFile") == fo.configFile());
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
	BOOST_TEST(!json->getObject("pool")->getValue<bool>("warm")); // just started, no client yet: cold
	BOOST_TEST(json->getObject("pool")->getArray("preconnectDisabled")->size() == 0u);
	BOOST_TEST(json->getObject("pool")->getValue<int>("refusals") == 0);
}

BOOST_AUTO_TEST_CASE(the_pool_starts_cold_and_a_client_warms_it)
{
	Backend backend(Backend::echo());
	RunningProxy fo(probingOften(backend.address()).set("poolSize", 2));
	AdminClient admin = fo.admin();
	// An idle proxy opens nothing: probes are half-open, and the pool waits for a client.
	BOOST_TEST_REQUIRE(waitFor([&] { return admin.statusCode("/readyz") == 200; }, 10s));
	BOOST_TEST(!waitFor([&] { return backend.accepted() > 0; }, 1s));
	BOOST_TEST(!admin.status()->getObject("pool")->getValue<bool>("warm"));
	BOOST_TEST(admin.metric("forwardoptimal_pool_preconnects_total") == 0);
	Poco::Net::StreamSocket client(fo.listen());
	Backend::sendAll(client, "first");
	client.shutdownSend();
	BOOST_TEST(Backend::readAll(client) == "first"); // connected directly: a miss
	BOOST_TEST(waitFor([&] { return admin.metric("forwardoptimal_pool_idle_connections") == 2; }, 10s), fo.log());
	BOOST_TEST(admin.status()->getObject("pool")->getValue<bool>("warm"));
	BOOST_TEST(admin.metric("forwardoptimal_pool_preconnects_total") >= 2);
	BOOST_TEST(fo.waitForLog("🔥 连接池: 第一个客户端到达, 开始预连接", 5s), fo.log());
}

BOOST_AUTO_TEST_CASE(the_pool_reports_a_targets_idle_timeout_it_learned)
{
	// A server that drops connections silent for 500 ms, sooner than the pool's 10 s.
	Backend backend([](Poco::Net::StreamSocket& socket) {
		if (socket.poll(Poco::Timespan(0, 500000), Poco::Net::Socket::SELECT_READ))
			Backend::sendAll(socket, "served");
	});
	RunningProxy fo(probingOften(backend.address()).set("poolSize", 2));
	{
		Poco::Net::StreamSocket client(fo.listen()); // the pool starts cold: a client warms it
		client.shutdownSend();
		BOOST_TEST(Backend::readAll(client) == "served");
	}
	Poco::JSON::Object::Ptr pool;
	BOOST_TEST(waitFor([&] {
		pool = fo.admin().status()->getObject("pool");
		return !pool->isNull("learnedIdleLifetimeMs");
	}, 30s), fo.log());
	int learned = pool->getValue<int>("learnedIdleLifetimeMs");
	BOOST_TEST(learned >= 500);
	BOOST_TEST(learned < 1500);
	BOOST_TEST(pool->getValue<int>("maxIdleMs") == learned / 2);
	BOOST_TEST(fo.waitForLog("🔄 目标 " + backend.address() + " 约 ", 10s), fo.log());
	BOOST_TEST(fo.waitForLog("ms 后关闭空闲连接; 每个过期的预连接在它看来都是一次失败的登录, 不再预连接", 10s), fo.log());
	// Every expired pooled socket is a failed login to such a server: no more pre-connects,
	// shown in /status and /metrics.
	Poco::JSON::Array::Ptr disabled = pool->getArray("preconnectDisabled");
	BOOST_TEST_REQUIRE(disabled->size() == 1u);
	BOOST_TEST(disabled->getElement<std::string>(0) == backend.address());
	AdminClient admin = fo.admin();
	BOOST_TEST(admin.metric("forwardoptimal_pool_max_idle_seconds") == learned / 2 / 1000.0);
	BOOST_TEST(admin.metric("forwardoptimal_pool_preconnect_disabled", {{"target", backend.address()}}) == 1);
	BOOST_TEST(waitFor([&] { return admin.metric("forwardoptimal_pool_idle_connections") == 0; }, 5s));
	double preconnects = admin.metric("forwardoptimal_pool_preconnects_total");
	std::this_thread::sleep_for(1500ms); // three of the server's lifetimes: a pool would have opened six
	BOOST_TEST(admin.metric("forwardoptimal_pool_preconnects_total") == preconnects);
}

BOOST_AUTO_TEST_CASE(readyz_follows_the_targets_and_healthz_the_process)
{
	// The target comes back on the port it had: the kernel picked it for the first backend.
	auto backend = std::make_unique<Backend>(Backend::echo());
	std::string target = backend->address();
	RunningProxy fo(probingOften(target));
	AdminClient admin = fo.admin();
	BOOST_TEST(admin.statusCode("/healthz") == 200);
	BOOST_TEST(waitFor([&] { return admin.statusCode("/readyz") == 200; }, 10s));
	backend.reset();
	BOOST_TEST(waitFor([&] { return admin.statusCode("/readyz") == 503; }, 10s), admin.request("/status").body);
	BOOST_TEST(admin.statusCode("/healthz") == 200); // the process still serves (it refuses fast)
	backend = std::make_unique<Backend>(Backend::echo(), target);
	BOOST_TEST(waitFor([&] { return admin.statusCode("/readyz") == 200; }, 10s));
}

BOOST_AUTO_TEST_CASE(health_check_option_probes_the_admin_endpoint)
{
	// What the Docker HEALTHCHECK runs: no config needed, exit 0 on 2xx, 1 otherwise.
	Backend backend(Backend::echo());
	RunningProxy fo(probingOften(backend.address()));
	std::string out, err;
	BOOST_TEST(ChildProcess::run({binaryPath(), "--health-check=http://" + fo.adminAddress() + "/healthz"}, out, err) == 0, out << err);
	BOOST_TEST(out.find("200") != std::string::npos, out);
	BOOST_TEST(ChildProcess::run({binaryPath(), "--health-check=http://" + fo.adminAddress() + "/nope"}, out, err) == 1, out << err);
	BOOST_TEST(fo.stop(SIGTERM) == 0);
	BOOST_TEST(ChildProcess::run({binaryPath(), "--health-check=http://" + fo.adminAddress() + "/healthz"}, out, err) == 1, out << err);
}

BOOST_AUTO_TEST_CASE(daemon_resolves_a_relative_config_and_says_where_logs_go)
{
	Backend backend(Backend::echo());
	TempDir dir;
	std::string logFile = dir.path() + "/fo.log";
	SettingsBuilder::loopback({backend.address()}).set("updateInterval", 60).setJson("logging", "{\"channels\": {\"file\": "
		"{\"class\": \"FileChannel\", \"path\": \"" + logFile + "\", \"formatter\": \"fo\"}}, \"loggers\": {\"root\": {\"channel\": \"file\"}}}")
		.write(dir, "rel.json");
	std::string pidFile = dir.path() + "/fo.pid";
	ChildProcess launcher({binaryPath(), "-c", "rel.json", "--daemon", "--pidfile=" + pidFile}, dir.path());
	BOOST_TEST(launcher.waitExit(20s).value_or(-1) == 0, launcher.all());
	BOOST_TEST(launcher.err().find("starting as a daemon; logs go to " + logFile) != std::string::npos, launcher.err());
	auto log = [&] { return readFile(logFile); };
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
	int code = ChildProcess::run({binaryPath(), "-c", SettingsBuilder::loopback({backend.address()}).set("updateInterval", 60)
		.set("adminAddr", "").write(dir, "c.json"), "--daemon", "--pidfile=" + pidFile}, out, err);
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
	RunningProxy fo(SettingsBuilder::loopback({backend.address()}).set("updateInterval", 60).set("adminAddr", "0.0.0.0:0"));
	BOOST_TEST(fo.waitForLog("管理接口监听在非回环地址"), fo.log());
	BOOST_TEST(fo.adminAddress().find("0.0.0.0:") == 0u, fo.adminAddress());
}

BOOST_AUTO_TEST_CASE(unknown_paths_are_404_and_other_methods_405)
{
	Backend backend(Backend::echo());
	RunningProxy fo(probingOften(backend.address()));
	AdminClient admin = fo.admin();
	BOOST_TEST(admin.statusCode("/nope") == 404);
	BOOST_TEST(admin.request("/metrics", "POST").status == 405);
	BOOST_TEST(admin.request("/metrics", "HEAD").status == 200);
}

BOOST_AUTO_TEST_CASE(admin_can_be_turned_off_and_a_taken_admin_port_fails_cleanly)
{
	Backend backend(Backend::echo());
	SettingsBuilder settings = SettingsBuilder::loopback({backend.address()}).set("updateInterval", 60);
	RunningProxy off(SettingsBuilder(settings).set("adminAddr", ""));
	BOOST_TEST(off.adminAddress() == "");
	BOOST_TEST_REQUIRE(off.waitForLog("目标节点数量"), off.log());
	BOOST_TEST(off.log().find("管理接口") == std::string::npos);

	TempDir dir;
	Poco::Net::ServerSocket taken(Poco::Net::SocketAddress("127.0.0.1", 0));
	std::string out, err;
	int code = ChildProcess::run({binaryPath(), "-c", settings.set("adminAddr", taken.address().toString()).write(dir, "taken.json")}, out, err);
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
	RunningProxy first({"-c", specOnly("ssh.json")});
	RunningProxy second({"-c", specOnly("game.json")});
	BOOST_TEST(second.log().find("管理接口默认地址 127.0.0.1:9090 已被占用, 管理接口未启动 (设置 adminAddr") != std::string::npos,
		second.log());
	BOOST_TEST(second.adminAddress().empty());

	for (RunningProxy* pInstance : {&first, &second})
	{
		Poco::Net::StreamSocket session(pInstance->listen());
		session.setReceiveTimeout(Poco::Timespan(10, 0));
		Backend::sendAll(session, "side by side");
		session.shutdownSend();
		BOOST_TEST(Backend::readAll(session) == "side by side");
	}
	BOOST_TEST(second.stop() == 0, second.log());
	BOOST_TEST(first.stop() == 0, first.log());
}

BOOST_AUTO_TEST_CASE(sigterm_drains_sessions_in_flight_and_refuses_new_ones)
{
	Backend backend(Backend::echo());
	RunningProxy fo(probingOften(backend.address()).set("drainTimeout", 30));
	Poco::Net::StreamSocket session(fo.listen());
	session.setReceiveTimeout(Poco::Timespan(10, 0));
	Backend::sendAll(session, "before ");
	char echoed[7];
	BOOST_TEST_REQUIRE(session.receiveBytes(echoed, 7) == 7); // the session is running, not queued
	fo.signal(SIGTERM);
	BOOST_TEST_REQUIRE(fo.waitForLog("不再接受新连接", 10s), fo.log());
	BOOST_CHECK_THROW(Poco::Net::StreamSocket{fo.listen()}, Poco::Net::ConnectionRefusedException);
	Backend::sendAll(session, "after");   // the session in flight still works
	session.shutdownSend();
	BOOST_TEST(Backend::readAll(session) == "after");
	BOOST_TEST(fo.waitExit(20s).value_or(-1) == 0);
	BOOST_TEST(fo.log().find("所有会话已结束") != std::string::npos, fo.log());
}

BOOST_AUTO_TEST_CASE(drain_timeout_closes_what_is_left)
{
	Backend backend(Backend::hold());
	RunningProxy fo(probingOften(backend.address()).set("drainTimeout", 0.5));
	Poco::Net::StreamSocket session(fo.listen());
	BOOST_TEST(waitFor([&] { return fo.admin().metric("forwardoptimal_connections_active") == 1; }, 10s));
	BOOST_TEST(fo.stop(SIGTERM) == 0);
	BOOST_TEST(fo.log().find("关闭仍在进行的 1 个会话") != std::string::npos, fo.log());
}

BOOST_AUTO_TEST_CASE(a_second_signal_stops_at_once)
{
	Backend backend(Backend::hold());
	RunningProxy fo(probingOften(backend.address()).set("drainTimeout", 600));
	Poco::Net::StreamSocket session(fo.listen());
	BOOST_TEST(waitFor([&] { return fo.admin().metric("forwardoptimal_connections_active") == 1; }, 10s));
	fo.signal(SIGTERM);
	BOOST_TEST_REQUIRE(fo.waitForLog("不再接受新连接", 10s));
	BOOST_TEST(fo.stop(SIGINT) == 0);
	BOOST_TEST(fo.log().find("再次收到信号 SIGINT") != std::string::npos, fo.log());
}

BOOST_AUTO_TEST_CASE(sighup_reload_moves_new_clients_and_keeps_running_sessions)
{
	Backend first(Backend::echo("first\n"));
	Backend second(Backend::echo("second\n"));
	RunningProxy fo(probingOften(first.address()));
	Poco::Net::StreamSocket before(fo.listen());
	before.setReceiveTimeout(Poco::Timespan(10, 0));
	char banner[6];
	BOOST_TEST_REQUIRE(before.receiveBytes(banner, 6) == 6);
	BOOST_TEST(std::string(banner, 6) == "first\n");

	auto nextClient = [&] {
		Poco::Net::StreamSocket client(fo.listen());
		client.shutdownSend();
		return Backend::readAll(client);
	};
	fo.rewriteConfig(SettingsBuilder::loopback({second.address()}).set("bindAddr", "127.0.0.1:1").set("updateInterval", 0.3));
	fo.signal(SIGHUP);
	BOOST_TEST_REQUIRE(fo.waitForLog("配置已重新加载"), fo.log());
	BOOST_TEST(fo.log().find("bindAddr 从 127.0.0.1:0 改为 127.0.0.1:1 需要重启才能生效") != std::string::npos, fo.log());
	BOOST_TEST(nextClient() == "second\n");

	// The session opened before the reload still talks to the first target, intact.
	Backend::sendAll(before, "still here");
	before.shutdownSend();
	BOOST_TEST(Backend::readAll(before) == "still here");

	// Logging follows a reload too: the root logger lowered to warnings silences the reports
	// (and the information line that would confirm the reload itself).
	auto count = [&](const std::string& text) {
		std::string all = fo.log();
		std::size_t n = 0;
		for (std::size_t at = all.find(text); at != std::string::npos; at = all.find(text, at + 1))
			++n;
		return n;
	};
	fo.rewriteConfig(SettingsBuilder::loopback({second.address()}).set("updateInterval", 0.3)
		.setJson("logging", "{\"loggers\": {\"root\": {\"level\": \"warning\"}}}"));
	fo.signal(SIGHUP);
	BOOST_TEST_REQUIRE(waitFor([&] { return count("收到 SIGHUP") == 2; }, 20s), fo.log());
	// Until the new level applies, reports still come; then five update intervals (1.5 s) must
	// pass, with health rounds running, without a line. A report per round never lets it happen.
	AdminClient admin = fo.admin();
	auto rounds = [&] { return admin.metric("forwardoptimal_health_rounds_total"); };
	std::size_t size = fo.log().size();
	double roundsAtQuiet = rounds();
	auto quietSince = std::chrono::steady_clock::now();
	BOOST_TEST(waitFor([&] {
		if (fo.log().size() != size)
		{
			size = fo.log().size();
			roundsAtQuiet = rounds();
			quietSince = std::chrono::steady_clock::now();
			return false;
		}
		double now = rounds();
		roundsAtQuiet = std::min(roundsAtQuiet, now); // the reloaded runtime counts from 1 again
		return std::chrono::steady_clock::now() - quietSince >= 1500ms && now >= roundsAtQuiet + 3;
	}, 30s), "still logging reports after the reload lowered the level:\n" << fo.log().substr(size > 2000 ? size - 2000 : 0));
	BOOST_TEST(nextClient() == "second\n");

	// An invalid file is rejected; the running configuration stays.
	fo.dir().write("fo.json", "{\"bindAddr\": \":1\", \"targets\": [],");
	fo.signal(SIGHUP);
	BOOST_TEST(fo.waitForLog("重新加载失败, 继续使用原来的配置"), fo.log());
	BOOST_TEST(nextClient() == "second\n");
	BOOST_TEST(fo.stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
