// The real ForwardOptimal binary as a child process: command line, exit codes, messages,
// start-up log, listening and shutdown on signals.
#include "RunningProxy.h"
#include "SettingsBuilder.h"
#include "TestSupport.h"

#include "Poco/File.h"
#include "Poco/JSON/Object.h"
#include "Poco/JSON/Parser.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/StreamSocket.h"

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>

#include <sys/resource.h>

using namespace ForwardOptimal::Test;

namespace {

struct Run
{
	int code;
	std::string out;
	std::string err;
};

Run run(std::vector<std::string> args)
{
	args.insert(args.begin(), binaryPath());
	Run result{};
	result.code = ChildProcess::run(args, result.out, result.err);
	return result;
}

// Two targets nobody listens on, reports once a minute, the admin endpoint on a port of its own.
SettingsBuilder config()
{
	return SettingsBuilder::loopback({"127.0.0.1:9", "[::1]:9"}).set("updateInterval", 60).set("failureInterval", 10);
}

std::string readFile(const std::string& path)
{
	std::ifstream in(path);
	return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void expectRejectedConfig(const TempDir& dir, const std::string& content, int code, const std::string& fragment)
{
	std::string file = dir.write("bad.json", content);
	Run result = run({"-c", file});
	BOOST_TEST(result.code == code, content << "\n" << result.err);
	BOOST_TEST(result.err.find(file) != std::string::npos, result.err);
	BOOST_TEST(result.err.find(fragment) != std::string::npos, result.err);
	BOOST_TEST(result.err.find("启动成功") == std::string::npos, result.err);
}

} // namespace

BOOST_AUTO_TEST_SUITE(cli_tests)

BOOST_AUTO_TEST_CASE(help_in_all_three_spellings)
{
	for (std::string flag : {"-h", "-help", "--help"})
	{
		Run result = run({flag});
		BOOST_TEST(result.code == 0, flag);
		BOOST_TEST(result.out.find("用法:") != std::string::npos, flag);
		BOOST_TEST(result.out.find("-c <文件路径>") != std::string::npos, flag);
		BOOST_TEST(result.out.find("--daemon") != std::string::npos, flag);
		BOOST_TEST(result.out.find("--ports-file=<文件路径>") != std::string::npos, flag);
	}
}

BOOST_AUTO_TEST_CASE(help_wins_over_a_missing_config)
{
	Run result = run({"-c", "/nonexistent.json", "-help"});
	BOOST_TEST(result.code == 0);
	BOOST_TEST(result.out.find("用法:") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(version_in_all_three_spellings)
{
	for (std::string flag : {"-v", "-version", "--version"})
	{
		Run result = run({flag});
		BOOST_TEST(result.code == 0, flag);
		BOOST_TEST(result.out.find("ForwardOptimal v1.") == 0u, flag << ": " << result.out);
		BOOST_TEST(result.out.find("构建日期: 20") != std::string::npos, flag);
		BOOST_TEST(result.out.find("提交: ") != std::string::npos, flag);
	}
}

BOOST_AUTO_TEST_CASE(unknown_option_is_a_usage_error)
{
	Run result = run({"--colour"});
	BOOST_TEST(result.code == 64);
	BOOST_TEST(result.err.find("colour") != std::string::npos, result.err);
	BOOST_TEST(result.err.find("--help") != std::string::npos, result.err);
}

BOOST_AUTO_TEST_CASE(stray_argument_is_a_usage_error)
{
	Run result = run({"config.json"});
	BOOST_TEST(result.code == 64);
	BOOST_TEST(result.err.find("'config.json'") != std::string::npos, result.err);
}

BOOST_AUTO_TEST_CASE(define_without_equals_is_a_usage_error)
{
	Run result = run({"-D", "updateInterval"});
	BOOST_TEST(result.code == 64);
	BOOST_TEST(result.err.find("-D expects key=value") != std::string::npos, result.err);
}

BOOST_AUTO_TEST_CASE(missing_option_argument_is_a_usage_error)
{
	Run result = run({"-c"});
	BOOST_TEST(result.code == 64, result.err);
}

BOOST_AUTO_TEST_CASE(default_config_is_config_json_in_the_working_directory)
{
	TempDir dir;
	ChildProcess missing({binaryPath()}, dir.path());
	BOOST_TEST(missing.waitExit(20s).value_or(-1) == 66);
	BOOST_TEST(missing.err().find(dir.path() + "/config.json: configuration file not found") != std::string::npos, missing.err());

	config().write(dir, "config.json");
	RunningProxy server(std::vector<std::string>{}, ProxyOptions::inDirectory(dir.path()));
	BOOST_TEST(server.waitForLog("📁 配置文件: " + dir.path() + "/config.json"), server.log());
}

BOOST_AUTO_TEST_CASE(missing_config_file_exits_66)
{
	Run result = run({"-c", "/nonexistent/fo.json"});
	BOOST_TEST(result.code == 66);
	BOOST_TEST(result.err.find("/nonexistent/fo.json: configuration file not found") != std::string::npos, result.err);
}

BOOST_AUTO_TEST_CASE(unreadable_config_file_exits_66)
{
	TempDir dir;
	Run result = run({"-c", dir.path()});
	BOOST_TEST(result.code == 66);
	BOOST_TEST(result.err.find("is a directory") != std::string::npos, result.err);
}

BOOST_AUTO_TEST_CASE(malformed_json_exits_78_with_line_and_column)
{
	TempDir dir;
	expectRejectedConfig(dir, "{\n  \"bindAddr\": \":8080\"\n  \"targets\": []\n}", 78, "line 3, column 3");
}

BOOST_AUTO_TEST_CASE(each_invalid_value_exits_78_naming_the_key)
{
	TempDir dir;
	expectRejectedConfig(dir, "{\"targets\": [\"127.0.0.1:9\"], \"updateInterval\": 1}", 78, "key 'bindAddr': is required");
	expectRejectedConfig(dir, "{\"bindAddr\": \":1\", \"updateInterval\": 1}", 78, "key 'targets': is required");
	expectRejectedConfig(dir, "{\"bindAddr\": \":1\", \"targets\": [], \"updateInterval\": 1}", 78, "key 'targets': must list at least one");
	expectRejectedConfig(dir, "{\"bindAddr\": \":1\", \"targets\": [\"127.0.0.1:9\"]}", 78, "key 'updateInterval': is required");
	expectRejectedConfig(dir, config().set("updateInterval", 0).text(), 78,
		"key 'updateInterval': must be a number of seconds greater than 0");
	expectRejectedConfig(dir, config().set("proxyProtocol", "v3").text(), 78, "key 'proxyProtocol'");
	expectRejectedConfig(dir, config().set("bindAddr", "127.0.0.1:99999").text(), 78, "key 'bindAddr'");
	expectRejectedConfig(dir, "{\"bindAddr\": \":1\", \"targets\": [\"127.0.0.1:9\", \"127.0.0.1:9\"], \"updateInterval\": 1}", 78, "listed twice");
	expectRejectedConfig(dir, "{\"bindAddr\": \":1\", \"targets\": \"127.0.0.1:9\", \"updateInterval\": 1}", 78, "key 'targets': must be an array");
}

BOOST_AUTO_TEST_CASE(bad_logging_section_exits_78)
{
	TempDir dir;
	expectRejectedConfig(dir, config().setJson("logging", "{\"channels\": {\"c\": {\"class\": \"NoSuchChannel\"}}}").text(), 78, "key 'logging'");
}

BOOST_AUTO_TEST_CASE(good_config_starts_with_banner_and_status_lines_and_stops_on_sigterm)
{
	RunningProxy server(config().set("proxyProtocol", "v2"));
	std::string file = server.configFile();
	BOOST_TEST_REQUIRE(server.waitForLog("🎯 目标节点数量: 2"), server.log()); // the last of the start-up lines
	std::string log = server.log();
	for (const std::string& expected : std::vector<std::string>{"╔═", "ForwardOptimal v1.", "智能负载均衡TCP转发代理服务器", "🚀 程序启动中...",
			"📁 配置文件: " + file, "✅ 配置加载成功", "🌐 监听地址: 127.0.0.1:0", "🎯 目标节点: [127.0.0.1:9 [::1]:9]",
			"⏱️  检查间隔: 60秒 (故障时: 10秒)", "🔗 Proxy Protocol: v2", "🎉 TCP转发服务器启动成功!", "🎯 目标节点数量: 2"})
		BOOST_TEST(log.find(expected) != std::string::npos, expected);
	BOOST_TEST(log.find("[Information]") != std::string::npos); // timestamps and levels by default

	// It really listens: a client is accepted (and, until forwarding exists, closed).
	Poco::Net::StreamSocket client{server.listen()};
	client.close();

	BOOST_TEST(server.stop(SIGTERM) == 0);
	BOOST_TEST(server.log().find("收到信号 SIGTERM") != std::string::npos);
	BOOST_CHECK_THROW(Poco::Net::StreamSocket{server.listen()}, Poco::Net::ConnectionRefusedException);
}

BOOST_AUTO_TEST_CASE(stops_on_sigint_too)
{
	RunningProxy server(config());
	BOOST_TEST(server.stop(SIGINT) == 0);
}

BOOST_AUTO_TEST_CASE(relative_config_path_is_logged_absolute)
{
	TempDir dir;
	config().write(dir, "rel.json");
	RunningProxy server({"-c", "./rel.json"}, ProxyOptions::inDirectory(dir.path()));
	BOOST_TEST(server.waitForLog("📁 配置文件: " + dir.path() + "/rel.json"), server.log());
}

BOOST_AUTO_TEST_CASE(define_overrides_win_over_the_file)
{
	RunningProxy server(config().set("proxyProtocol", "v2"), {"-D", "proxyProtocol=v1", "--define=updateInterval=7"});
	BOOST_TEST(server.waitForLog("🔗 Proxy Protocol: v1"), server.log());
	BOOST_TEST(server.waitForLog("检查间隔: 7秒"), server.log());
}

BOOST_AUTO_TEST_CASE(define_overrides_logging_keys_of_the_file)
{
	// The file asks for debug; -D lowers the root logger to warnings: the start-up lines vanish.
	// Once the ports file is there, the start-up lines would have been written.
	RunningProxy process(config().setJson("logging", "{\"loggers\": {\"root\": {\"level\": \"debug\"}}}"),
		{"-D", "logging.loggers.root.level=warning", "-D", "bindAddr=127.0.0.1:0"});
	BOOST_TEST(process.stop(SIGTERM) == 0);
	BOOST_TEST(process.log().empty(), process.log());
	BOOST_TEST(process.log().find("启动成功") == std::string::npos, process.log());
}

BOOST_AUTO_TEST_CASE(logging_section_of_the_file_configures_poco_logging)
{
	TempDir dir;
	std::string logFile = dir.path() + "/fo.log";
	RunningProxy process(config().setJson("logging", "{\n"
		"    \"channels\": {\"file\": {\"class\": \"FileChannel\", \"path\": \"" + logFile + "\", \"formatter\": \"fo\"}},\n"
		"    \"loggers\": {\"root\": {\"channel\": \"file\", \"level\": \"information\"}}\n  }"));
	BOOST_TEST(waitFor([&] { return readFile(logFile).find("目标节点数量") != std::string::npos; }, 20s), readFile(logFile));
	BOOST_TEST(process.log().find("目标节点数量") == std::string::npos); // not on the console
	BOOST_TEST(process.stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(bad_define_value_exits_78_naming_the_option)
{
	TempDir dir;
	Run result = run({"-c", config().write(dir), "-D", "failureInterval=fast"});
	BOOST_TEST(result.code == 78);
	BOOST_TEST(result.err.find("-D failureInterval: must be a number, got 'fast'") != std::string::npos, result.err);
}

BOOST_AUTO_TEST_CASE(unknown_keys_are_logged_as_warnings)
{
	RunningProxy server(config().set("updateInteval", 5));
	BOOST_TEST(server.waitForLog("unknown key 'updateInteval' is ignored (did you mean 'updateInterval'?)"), server.log());
}

BOOST_AUTO_TEST_CASE(check_prints_effective_settings_and_exits_0)
{
	TempDir dir;
	std::string file = config().write(dir);
	for (std::string flag : {"-t", "--check"})
	{
		Run result = run({"-c", file, flag, "-D", "maxQueued=9"});
		BOOST_TEST(result.code == 0, result.err);
		BOOST_TEST(result.out.find("configuration file " + file + " test is successful") != std::string::npos, result.out);
		BOOST_TEST(result.out.find("\"failureInterval\": 10") != std::string::npos, result.out);
		BOOST_TEST(result.out.find("\"proxyProtocol\": \"\"") != std::string::npos, result.out);
		BOOST_TEST(result.out.find("\"maxQueued\": 9") != std::string::npos, result.out);
		BOOST_TEST(result.out.find("\"maxConnectionsPerSource\": 256") != std::string::npos, result.out);
		BOOST_TEST(result.out.find("\"[::1]:9\"") != std::string::npos, result.out);
	}
}

BOOST_AUTO_TEST_CASE(check_reports_errors_with_the_exit_code)
{
	TempDir dir;
	Run result = run({"-t", "-c", dir.write("fo.json", "{\"bindAddr\": 1}")});
	BOOST_TEST(result.code == 78);
	BOOST_TEST(result.err.find("key 'bindAddr'") != std::string::npos, result.err);
	BOOST_TEST(result.out.find("test is successful") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(ports_file_names_the_real_ports_and_is_removed_on_exit)
{
	TempDir dir;
	std::string portsFile = dir.path() + "/ports.json";
	ChildProcess process({binaryPath(), "-c", config().write(dir), "--ports-file=" + portsFile});
	BOOST_TEST_REQUIRE(waitFor([&] { return !readFile(portsFile).empty(); }, 20s), process.all());
	Poco::JSON::Object::Ptr ports = Poco::JSON::Parser().parse(readFile(portsFile)).extract<Poco::JSON::Object::Ptr>();
	Poco::Net::SocketAddress listen(ports->getValue<std::string>("listen"));
	Poco::Net::SocketAddress admin(ports->getValue<std::string>("admin"));
	BOOST_TEST(listen.host().toString() == "127.0.0.1");
	BOOST_TEST(listen.port() != 0);
	BOOST_TEST(admin.host().toString() == "127.0.0.1");
	BOOST_TEST(admin.port() != 0);
	BOOST_TEST(admin.port() != listen.port());
	BOOST_TEST(!Poco::File(portsFile + ".tmp").exists()); // renamed into place, nothing left behind

	// The ports the log names, and both really listen.
	BOOST_TEST(process.waitForOutput("🔗 监听地址: " + listen.toString() + "\n", 10s), process.all());
	BOOST_TEST(process.waitForOutput("📊 管理接口: http://" + admin.toString() + " ", 10s), process.all());
	Poco::Net::StreamSocket client(listen);
	client.close();
	BOOST_TEST(httpRequest(admin.toString(), "/healthz").status == 200);

	process.signal(SIGTERM);
	BOOST_TEST(process.waitExit(20s).value_or(-1) == 0);
	BOOST_TEST(!Poco::File(portsFile).exists());
}

BOOST_AUTO_TEST_CASE(ports_file_has_an_empty_admin_when_the_admin_endpoint_is_off)
{
	RunningProxy server(config().set("adminAddr", ""));
	Poco::JSON::Object::Ptr ports = Poco::JSON::Parser().parse(readFile(server.portsFile())).extract<Poco::JSON::Object::Ptr>();
	BOOST_TEST(ports->getValue<std::string>("admin") == "");
	BOOST_TEST(server.listen().port() != 0);
	BOOST_TEST(server.stop(SIGINT) == 0);
	BOOST_TEST(!Poco::File(server.portsFile()).exists());
}

BOOST_AUTO_TEST_CASE(an_unwritable_ports_file_exits_73_naming_it)
{
	TempDir dir;
	std::string portsFile = dir.path() + "/no-such-directory/ports.json";
	Run result = run({"-c", config().write(dir), "--ports-file=" + portsFile});
	BOOST_TEST(result.code == 73, result.err);
	BOOST_TEST(result.err.find("--ports-file") != std::string::npos, result.err);
	BOOST_TEST(result.err.find(portsFile) != std::string::npos, result.err);
}

BOOST_AUTO_TEST_CASE(port_in_use_exits_69_and_names_the_address)
{
	Poco::Net::ServerSocket taken(Poco::Net::SocketAddress("127.0.0.1", 0));
	std::string address = "127.0.0.1:" + std::to_string(taken.address().port());
	TempDir dir;
	Run result = run({"-c", config().set("bindAddr", address).write(dir)});
	BOOST_TEST(result.code == 69, result.err);
	BOOST_TEST(result.err.find("cannot listen on " + address) != std::string::npos, result.err);
	BOOST_TEST(result.err.find("in use") != std::string::npos, result.err);
}

BOOST_AUTO_TEST_CASE(daemon_writes_and_removes_its_pid_file)
{
	TempDir dir;
	std::string pidFile = dir.path() + "/fo.pid";
	std::string logFile = dir.path() + "/fo.log";
	std::string file = config().setJson("logging", "{\n"
		"    \"channels\": {\"file\": {\"class\": \"FileChannel\", \"path\": \"" + logFile + "\", \"formatter\": \"fo\"}},\n"
		"    \"loggers\": {\"root\": {\"channel\": \"file\"}}\n  }").write(dir);
	Run launcher = run({"-c", file, "--daemon", "--pidfile=" + pidFile});
	BOOST_TEST(launcher.code == 0, launcher.err);
	BOOST_TEST_REQUIRE(waitFor([&] { return Poco::File(pidFile).exists(); }, 20s));
	pid_t pid = 0;
	BOOST_TEST_REQUIRE(waitFor([&] { std::ifstream(pidFile) >> pid; return pid > 0; }, 5s));
	BOOST_TEST_REQUIRE(waitFor([&] { return readFile(logFile).find("目标节点数量") != std::string::npos; }, 20s));
	BOOST_TEST(::kill(pid, SIGTERM) == 0);
	BOOST_TEST(waitFor([&] { return !Poco::File(pidFile).exists(); }, 20s));
	BOOST_TEST(waitFor([&] { return ::kill(pid, 0) != 0; }, 20s));
}

BOOST_AUTO_TEST_CASE(daemon_reports_a_bad_config_before_detaching)
{
	TempDir dir;
	Run result = run({"-c", dir.write("fo.json", "{"), "--daemon", "--pidfile=" + dir.path() + "/fo.pid"});
	BOOST_TEST(result.code == 78);
	BOOST_TEST(result.err.find("invalid JSON") != std::string::npos, result.err);
	BOOST_TEST(!Poco::File(dir.path() + "/fo.pid").exists());
}

BOOST_AUTO_TEST_CASE(warns_when_max_connections_cannot_fit_the_descriptor_limit)
{
	// 20,000 descriptors cannot hold 50,000 sessions of two each. The hard limit is lowered
	// to 20,000 (it is that here anyway) so the child cannot raise its way out of it.
	rlimit limit{};
	BOOST_TEST_REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
	if (limit.rlim_max > 20000)
	{
		limit.rlim_max = 20000;
		limit.rlim_cur = std::min<rlim_t>(limit.rlim_cur, 20000);
		BOOST_TEST_REQUIRE(setrlimit(RLIMIT_NOFILE, &limit) == 0);
	}
	RunningProxy server(config().set("maxConnections", 50000));
	BOOST_TEST(server.waitForLog("maxConnections 50000 needs about"), server.log());
}

BOOST_AUTO_TEST_CASE(shipped_example_configs_are_valid)
{
	const char* source = std::getenv("FO_SOURCE_DIR");
	BOOST_TEST_REQUIRE(source != nullptr);
	for (std::string name : {"demo.json", "docker.json", "example-plain.json", "example-proxy-v2.json", "logging-example.json"})
	{
		Run result = run({"-c", std::string(source) + "/etc/" + name, "--check"});
		BOOST_TEST(result.code == 0, name << ": " << result.err);
		BOOST_TEST(result.err.find("unknown key") == std::string::npos, name << ": " << result.err);
	}
}

BOOST_AUTO_TEST_SUITE_END()
