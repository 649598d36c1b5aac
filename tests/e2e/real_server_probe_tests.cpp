// What real servers log and count of ForwardOptimal's idle health probes: Debian's sshd,
// MariaDB and PostgreSQL, each started by the test as its own process in a network namespace of its own, with
// its own configuration, keys and data in a temporary directory. ForwardOptimal runs in a second
// namespace joined to the first by a veth pair, so the servers see it at 198.18.12.1, not on
// loopback (MariaDB keeps no per-host error count for loopback clients).
//
// ForwardOptimal runs on its defaults (pool on) except for a fast updateInterval (0.2 s: many
// probe rounds in a short test; each round is one probe per target whatever the interval).
// Idle, with half-open probes (the default) and a pool that starts cold, no server may log or
// count anything; with probeMode "connect" each does, which is what makes each case able to
// fail. MariaDB also blocks the proxy on purpose, to see the pool back off, say so once, and
// recover after FLUSH HOSTS.
//
// Needs root, iproute2 (network namespaces, veth), openssh-server, mariadb-server,
// mariadb-client and postgresql; where one is missing the test exits 77 (CTest: skipped) and says why.
#include "RunningProxy.h"
#include "TestSupport.h"

#include "Poco/File.h"

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <sys/stat.h>

#include <unistd.h>

using namespace ForwardOptimal::Test;

namespace {

const std::string PROXY_IP = "198.18.12.1";
const std::string SERVER_IP = "198.18.12.2";
const std::string REPORT = "节点健康检查报告";

int run(const std::vector<std::string>& args, std::string& output, std::chrono::milliseconds timeout = 60s)
{
	std::string err;
	int code = ChildProcess::run(args, output, err, timeout);
	output += err;
	return code;
}

void skip(const std::string& why)
{
	std::cout << "SKIPPED: " << why << std::endl;
	std::exit(77);
}

std::string readFile(const std::string& path)
{
	std::ifstream in(path, std::ios::binary);
	std::ostringstream content;
	content << in.rdbuf();
	return content.str();
}

std::size_t count(const std::string& text, const std::string& what)
{
	std::size_t n = 0;
	for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size()))
		++n;
	return n;
}

/// The newest installed PostgreSQL's bin directory ("" if none).
std::string postgresBin()
{
	std::string output;
	run({"/bin/sh", "-c", "ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1"}, output);
	return output.substr(0, output.find('\n'));
}

/// Two namespaces, PREFIX-p (ForwardOptimal, 198.18.12.1) and PREFIX-s (the server,
/// 198.18.12.2), joined by a veth pair; nothing else is reachable from either. The server's
/// namespace knows the proxy's address by name from its hosts file and has no DNS (its
/// resolver is 127.0.0.1, where nothing listens): no query leaves. MariaDB keeps its per-host
/// error count (max_connect_errors) only for an address whose name it could look up; after a
/// temporary lookup failure it counts nothing, and a test of that would prove nothing.
struct Lab
{
	Lab():
		prefix("fop" + std::to_string(::getpid())),
		proxyNs(prefix + "-p"),
		serverNs(prefix + "-s"),
		netnsEtc("/etc/netns/" + serverNs)
	{
		if (::geteuid() != 0)
			skip("needs root for network namespaces");
		for (const char* path : {"/usr/sbin/ip", "/usr/sbin/sshd", "/usr/bin/ssh-keygen", "/usr/sbin/mariadbd",
			"/usr/bin/mariadb-install-db", "/usr/bin/mariadb"})
		{
			if (::access(path, X_OK) != 0)
				skip(std::string(path) + " is missing (packages iproute2, openssh-server, mariadb-server, mariadb-client)");
		}
		if (postgresBin().empty() || ::access("/usr/bin/setpriv", X_OK) != 0)
			skip("PostgreSQL (package postgresql) or setpriv (util-linux) is missing");
		std::string output;
		if (run({"/usr/sbin/ip", "netns", "add", proxyNs}, output) != 0)
			skip("'ip netns add' is not permitted here: " + output);
		created = true;
		Poco::File(netnsEtc).createDirectories();
		std::ofstream(netnsEtc + "/hosts") << "127.0.0.1 localhost\n" << PROXY_IP << " fo-proxy\n";
		std::ofstream(netnsEtc + "/resolv.conf") << "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";
		for (const auto& command : std::vector<std::vector<std::string>>{
			{"netns", "add", serverNs},
			{"-n", proxyNs, "link", "add", "fop0", "type", "veth", "peer", "name", "fos0", "netns", serverNs},
			{"-n", proxyNs, "addr", "add", PROXY_IP + "/24", "dev", "fop0"},
			{"-n", serverNs, "addr", "add", SERVER_IP + "/24", "dev", "fos0"},
			{"-n", proxyNs, "link", "set", "fop0", "up"},
			{"-n", serverNs, "link", "set", "fos0", "up"},
			{"-n", proxyNs, "link", "set", "lo", "up"},
			{"-n", serverNs, "link", "set", "lo", "up"}})
		{
			std::vector<std::string> args{"/usr/sbin/ip"};
			args.insert(args.end(), command.begin(), command.end());
			BOOST_TEST_REQUIRE(run(args, output) == 0, output);
		}
	}

	~Lab()
	{
		std::string output;
		if (created)
		{
			run({"/usr/sbin/ip", "netns", "del", proxyNs}, output);
			run({"/usr/sbin/ip", "netns", "del", serverNs}, output);
		}
		std::system(("rm -rf '" + netnsEtc + "'").c_str());
	}

	std::vector<std::string> inServer(std::vector<std::string> args) const
	{
		args.insert(args.begin(), {"/usr/sbin/ip", "netns", "exec", serverNs});
		return args;
	}

	std::vector<std::string> inProxy(std::vector<std::string> args) const
	{
		args.insert(args.begin(), {"/usr/sbin/ip", "netns", "exec", proxyNs});
		return args;
	}

	/// ForwardOptimal in the proxy namespace, probing `target` every 0.2 s, otherwise on its
	/// defaults (pool included).
	std::unique_ptr<RunningProxy> startProxy(const std::string& target, const std::string& probeMode)
	{
		SettingsBuilder settings = SettingsBuilder::loopback({target});
		settings.set("updateInterval", 0.2).set("adminAddr", "").set("probeMode", probeMode);
		RunningProxy::Options options;
		options.prefix = {"/usr/sbin/ip", "netns", "exec", proxyNs};
		auto pProxy = std::make_unique<RunningProxy>(settings, std::vector<std::string>{}, options);
		BOOST_TEST_REQUIRE(pProxy->waitForLog("✅ 在线 " + target, 20s), pProxy->log());
		return pProxy;
	}

	static void waitRounds(const RunningProxy& proxy, std::size_t rounds)
	{
		BOOST_TEST_REQUIRE(waitFor([&] { return count(proxy.log(), REPORT) >= rounds; }, 180s), proxy.log());
	}

	static void stop(std::unique_ptr<RunningProxy>& pProxy)
	{
		BOOST_TEST(pProxy->stop(SIGTERM, 20s) == 0);
		pProxy.reset();
	}

	TempDir dir;
	std::string prefix;
	std::string proxyNs;
	std::string serverNs;
	std::string netnsEtc;
	bool created = false;
};

/// The sum of MariaDB's counters of failed connections: Aborted_connects (a client that
/// connected and never completed a login) and every Connection_errors_* counter.
long mariadbErrors(const std::string& socket, std::string& detail)
{
	std::string output;
	if (run({"/usr/bin/mariadb", "--no-defaults", "-S", socket, "-uroot", "-N", "-B", "-e",
		"SHOW GLOBAL STATUS WHERE Variable_name = 'Aborted_connects' OR Variable_name LIKE 'Connection_errors%'"}, output) != 0)
		throw std::runtime_error("cannot read MariaDB's status: " + output);
	detail = output;
	long sum = 0;
	std::istringstream lines(output);
	std::string name;
	long value = 0;
	while (lines >> name >> value)
		sum += value;
	return sum;
}

} // namespace

BOOST_AUTO_TEST_SUITE(real_server_probe_tests)

BOOST_AUTO_TEST_CASE(sshd_logs_nothing_in_a_minute_idle_on_defaults_and_a_line_per_connect_probe)
{
	Lab lab;
	std::string output;
	std::string key = lab.dir.path() + "/ssh_host_ed25519_key";
	BOOST_TEST_REQUIRE(run({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key}, output) == 0, output);
	std::string config = lab.dir.write("sshd_config", "Port 22\nListenAddress " + SERVER_IP + "\nHostKey " + key + "\n"
		"PidFile none\nLogLevel VERBOSE\nUsePAM no\nStrictModes no\nPasswordAuthentication no\n"
		"KbdInteractiveAuthentication no\nAuthorizedKeysFile none\n");
	std::string log = lab.dir.path() + "/sshd.log";
	Poco::File("/run/sshd").createDirectories(); // sshd's privilege separation directory
	ChildProcess sshd(lab.inServer({"/usr/sbin/sshd", "-D", "-e", "-E", log, "-f", config}));
	BOOST_TEST_REQUIRE(waitFor([&] { return readFile(log).find("Server listening on " + SERVER_IP) != std::string::npos; }, 10s),
		readFile(log) + sshd.all());
	std::size_t before = readFile(log).size();

	// A minute of idle probing on defaults: 300 half-open probes at 0.2 s (Debian's fail2ban
	// jail bans after 5 failures) and a pool that, with no client, opens nothing.
	auto pProxy = lab.startProxy(SERVER_IP + ":22", "syn");
	Lab::waitRounds(*pProxy, 300);
	BOOST_TEST(!waitFor([&] { return readFile(log).size() > before; }, 1s));
	BOOST_TEST(readFile(log).substr(before).empty(), "sshd logged: " + readFile(log).substr(before));
	Lab::stop(pProxy);

	// The same in "connect" mode: every probe is a client that went away before the banner.
	pProxy = lab.startProxy(SERVER_IP + ":22", "connect");
	Lab::waitRounds(*pProxy, 10);
	BOOST_TEST(waitFor([&] { return count(readFile(log).substr(before), "Connection from " + PROXY_IP) >= 5; }, 10s),
		readFile(log).substr(before));
	Lab::stop(pProxy);
	BOOST_TEST_MESSAGE("sshd's log in connect mode:\n" << readFile(log).substr(before));
}

BOOST_AUTO_TEST_CASE(mariadb_counts_no_error_on_defaults_blocks_connect_probes_and_the_pool_backs_off_until_flush_hosts)
{
	Lab lab;
	std::string output;
	std::string data = lab.dir.path() + "/data", socket = lab.dir.path() + "/mariadb.sock";
	BOOST_TEST_REQUIRE(run({"/usr/bin/mariadb-install-db", "--no-defaults", "--datadir=" + data, "--user=root",
		"--auth-root-authentication-method=normal", "--skip-test-db"}, output, 120s) == 0, output);
	const int maxConnectErrors = 5;
	ChildProcess mariadb(lab.inServer({"/usr/sbin/mariadbd", "--no-defaults", "--datadir=" + data, "--user=root",
		"--socket=" + socket, "--pid-file=" + lab.dir.path() + "/mariadb.pid", "--bind-address=" + SERVER_IP, "--port=3306",
		"--max-connect-errors=" + std::to_string(maxConnectErrors), "--innodb-buffer-pool-size=16M", "--skip-log-bin",
		"--log-error=" + lab.dir.path() + "/error.log"}));
	BOOST_TEST_REQUIRE(waitFor([&] { return readFile(lab.dir.path() + "/error.log").find("ready for connections") != std::string::npos; }, 60s),
		readFile(lab.dir.path() + "/error.log") + mariadb.all());
	BOOST_TEST_REQUIRE(run({"/usr/bin/mariadb", "--no-defaults", "-S", socket, "-uroot", "-e",
		"CREATE USER 'fo'@'%' IDENTIFIED BY 'fo'; GRANT USAGE ON *.* TO 'fo'@'%';"}, output) == 0, output);
	std::string detail;
	BOOST_TEST_REQUIRE(mariadbErrors(socket, detail) == 0, detail);

	auto status = [&](const std::string& name) {
		std::string result;
		run({"/usr/bin/mariadb", "--no-defaults", "-S", socket, "-uroot", "-N", "-B", "-e",
			"SHOW GLOBAL STATUS WHERE Variable_name = '" + name + "'"}, result);
		std::istringstream fields(result);
		std::string ignored;
		long value = -1;
		fields >> ignored >> value;
		return value;
	};
	auto client = [&](const RunningProxy& proxy) {
		std::string port = std::to_string(proxy.listen().port());
		std::string result;
		run(lab.inProxy({"/usr/bin/mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", port, "-ufo", "-pfo", "-N", "-B",
			"--connect-timeout=5", "-e", "SELECT CONCAT('through', '-the-proxy')"}), result);
		return result;
	};

	// Ten times max_connect_errors rounds of half-open probes, on defaults with the pool on: no
	// error counted, no connection at all, and a client through ForwardOptimal logs in.
	long connections = status("Connections");
	auto pProxy = lab.startProxy(SERVER_IP + ":3306", "syn");
	Lab::waitRounds(*pProxy, 10 * maxConnectErrors);
	BOOST_TEST(status("Connections") == connections + 1); // the status query itself
	BOOST_TEST(mariadbErrors(socket, detail) == 0, detail);
	output = client(*pProxy);
	BOOST_TEST(output.find("through-the-proxy") != std::string::npos, output);
	BOOST_TEST(mariadbErrors(socket, detail) == 0, detail);
	Lab::stop(pProxy);

	// The same in "connect" mode: each probe is an aborted login, and after max_connect_errors
	// of them MariaDB refuses the proxy's address.
	pProxy = lab.startProxy(SERVER_IP + ":3306", "connect");
	BOOST_TEST(waitFor([&] { return mariadbErrors(socket, detail) > maxConnectErrors; }, 20s), detail);
	BOOST_TEST_MESSAGE("MariaDB's counters in connect mode:\n" << detail);
	output = client(*pProxy);
	BOOST_TEST(output.find("is blocked because of many connection errors") != std::string::npos, output);
	Lab::stop(pProxy);

	// Blocked: a proxy on defaults, warmed by a client (refused too), must not storm the server.
	// Its pool reads the error greeting as a refusal, says so once in the server's words, and
	// backs off 1, 2, 4, 8, 16 s with at most poolSize (2) sockets per attempt: within 25 s at
	// most 5 attempts, 10 connections, and the client's. Without the backoff the rate cap alone
	// allows four a second, about a hundred.
	pProxy = lab.startProxy(SERVER_IP + ":3306", "syn");
	connections = status("Connections");
	output = client(*pProxy);
	BOOST_TEST(output.find("is blocked because of many connection errors") != std::string::npos, output);
	BOOST_TEST_REQUIRE(pProxy->waitForLog("拒绝了连接池的连接", 10s), pProxy->log());
	std::this_thread::sleep_for(25s);
	long attempts = status("Connections") - connections - 1; // less this status query
	BOOST_TEST_MESSAGE("MariaDB counted " << attempts << " connections from the blocked proxy in 25 s");
	BOOST_TEST(attempts >= 2);  // the client and a pre-connect at least: the count sees them
	BOOST_TEST(attempts <= 1 + 10, pProxy->log());
	BOOST_TEST(count(pProxy->log(), "is blocked because of many connection errors") == 1u, pProxy->log());

	// The DBA's fix: clients work through the same proxy again at once (the pool hands out no
	// refused socket; the client connects directly or gets a socket made after the flush).
	BOOST_TEST_REQUIRE(run({"/usr/bin/mariadb", "--no-defaults", "-S", socket, "-uroot", "-e", "FLUSH HOSTS"}, output) == 0, output);
	output = client(*pProxy);
	BOOST_TEST(output.find("through-the-proxy") != std::string::npos, output + pProxy->log());
	output = client(*pProxy);
	BOOST_TEST(output.find("through-the-proxy") != std::string::npos, output + pProxy->log());
	Lab::stop(pProxy);
}

BOOST_AUTO_TEST_CASE(postgresql_logs_no_connection_idle_on_defaults_and_one_per_connect_probe)
{
	Lab lab;
	std::string output;
	std::string pg = lab.dir.path() + "/pg", log = lab.dir.path() + "/pg.log";
	Poco::File(pg).createDirectories();
	BOOST_TEST_REQUIRE(run({"/bin/chown", "postgres", pg}, output) == 0, output);
	::chmod(lab.dir.path().c_str(), 0755);
	const std::vector<std::string> asPostgres{"/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"};
	std::vector<std::string> initdb = asPostgres;
	initdb.insert(initdb.end(), {postgresBin() + "/initdb", "-D", pg + "/data", "-A", "trust"});
	BOOST_TEST_REQUIRE(run(initdb, output, 120s) == 0, output);
	// stderr is the log; ChildProcess captures it (log_connections: a line per accepted connection).
	// setpriv execs, so the child is the postmaster itself and SIGTERM reaches it.
	std::vector<std::string> server = asPostgres;
	server.insert(server.end(), {postgresBin() + "/postgres", "-D", pg + "/data", "-c", "listen_addresses=" + SERVER_IP,
		"-c", "port=5432", "-c", "unix_socket_directories=" + pg, "-c", "log_connections=on", "-c", "logging_collector=off"});
	ChildProcess postgres(lab.inServer(server));
	BOOST_TEST_REQUIRE(postgres.waitForOutput("ready to accept connections", 60s), postgres.all());

	auto pProxy = lab.startProxy(SERVER_IP + ":5432", "syn");
	Lab::waitRounds(*pProxy, 50);
	BOOST_TEST(!postgres.waitForOutput("connection received", 1s), postgres.all());
	Lab::stop(pProxy);

	pProxy = lab.startProxy(SERVER_IP + ":5432", "connect");
	Lab::waitRounds(*pProxy, 10);
	BOOST_TEST(waitFor([&] { return count(postgres.all(), "connection received: host=" + PROXY_IP) >= 5; }, 10s), postgres.all());
	Lab::stop(pProxy);
	postgres.signal(SIGTERM); // a clean shutdown leaves no shared memory behind
	BOOST_TEST(postgres.waitExit(30s).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
