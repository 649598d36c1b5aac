// Fault injection with real processes and real sockets on loopback: the ForwardOptimal binary
// (FO_BINARY) in front of fo_fault_peer (FO_FAULT_PEER), a forking upstream that can be killed,
// reset, stalled, flooded or restarted on demand, and clients that vanish, stop reading or
// never speak. Besides its own fault, every case checks the same four things:
//   - a healthy session that was running before the fault keeps exchanging verified bytes
//     through it, and at the end every byte it sent arrived at the upstream intact (the peer
//     checks the pattern) and came back intact (the session checks it);
//   - the process stays up and answers /healthz;
//   - afterwards its sessions, descriptors (/proc/PID/fd) and threads (/proc/PID/status) are
//     back to where they were, within a small bound, waited for with generous deadlines;
//   - bytes that did get through a broken session are an intact prefix of what was sent.
#include "AdminClient.h"
#include "FaultPeer.h"
#include "PatternSessions.h"
#include "RawClient.h"
#include "RunningProxy.h"
#include "SettingsBuilder.h"
#include "TestSupport.h"

#include "Poco/JSON/Array.h"
#include "Poco/JSON/Object.h"

#include <boost/test/unit_test.hpp>

#include <cstdlib>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <utility>

#include <dirent.h>
#include <unistd.h>

using namespace ForwardOptimal::Test;

namespace {

// What a process's descriptors point at ("3 socket:[1234]"), for failure messages.
std::string descriptors(pid_t pid)
{
	std::string list;
	std::string path = "/proc/" + std::to_string(pid) + "/fd";
	if (DIR* dir = ::opendir(path.c_str()))
	{
		while (dirent* entry = ::readdir(dir))
		{
			if (entry->d_name[0] == '.')
				continue;
			char target[256] = {0};
			ssize_t n = ::readlink((path + "/" + entry->d_name).c_str(), target, sizeof target - 1);
			list += std::string(" ") + entry->d_name + "=" + (n > 0 ? std::string(target, static_cast<std::size_t>(n)) : "?");
		}
		::closedir(dir);
	}
	return list;
}

// ---------------------------------------------------------------------------------------------
// One case's world: a peer, ForwardOptimal in front of it, a healthy session through it, and
// the proxy's usage once all that has settled. (The clients, the peer and the sessions are
// in tests/support: RawClient.h, FaultPeer.h, PatternSessions.h.)

struct Usage
{
	int fds = 0;
	int threads = 0;
	long rssKiB = 0;
};

struct Scene
{
	// ForwardOptimal in front of the peer, probing every 0.3 s; `keys` adds to or overrides that.
	// With `descriptorLimit`, RLIMIT_NOFILE (soft and hard) is set to it before exec.
	Scene(const SettingsBuilder& keys, int maxConnections_, int descriptorLimit = 0, int poolSize = 2):
		maxConnections(maxConnections_),
		proxy(SettingsBuilder::loopback({peer.address()}).set("updateInterval", 0.3).set("failureInterval", 0.3)
			.set("maxConnections", maxConnections_).set("poolSize", poolSize).merge(keys), {}, limited(descriptorLimit)),
		// The admin endpoint shares the process's descriptors: asked while a case has them all
		// taken, it resets the request. Asked again once the sessions free some (10 s at most).
		admin(proxy.admin(10s)),
		address(proxy.listen().toString())
	{
		healthy = std::make_unique<HealthySession>(address);
		BOOST_TEST_REQUIRE(healthy->progresses(), healthy->problem());
		BOOST_TEST_REQUIRE(waitFor([&] { return admin.metric("forwardoptimal_pool_idle_connections") == poolSize; }, 20s));
		// A probe or an admin request holds a descriptor for a moment: the fewest seen is the baseline.
		baseline = usage();
		for (int i = 0; i < 20; ++i)
		{
			std::this_thread::sleep_for(10ms);
			baseline.fds = std::min(baseline.fds, openFdCount(proxy.pid()));
		}
		baselinePipes = pipeDescriptors();
		BOOST_TEST_MESSAGE("baseline: " << baseline.fds << " descriptors, " << baseline.threads << " threads, "
			<< baseline.rssKiB << " KiB resident");
	}

	static ProxyOptions limited(int descriptorLimit)
	{
		ProxyOptions options;
		options.descriptorLimit = descriptorLimit;
		return options;
	}

	double active() const { return admin.metric("forwardoptimal_connections_active"); }
	double refused(const std::string& reason) const
	{
		return admin.metric("forwardoptimal_connections_refused_total", {{"reason", reason}});
	}

	// Still running, and answering.
	bool alive()
	{
		if (!proxy.running())
			return false;
		try
		{
			return proxy.admin().statusCode("/healthz") == 200;
		}
		catch (const Poco::Exception&)
		{
			return false;
		}
	}

	Usage usage() const { return Usage{openFdCount(proxy.pid()), threadCount(proxy.pid()), residentKiB(proxy.pid())}; }

	// The descriptors of the relay's splice pipes (in use or kept idle for reuse): the pool holds
	// them by design, so the leak check leaves them out (with splice off there are none).
	int pipeDescriptors() const
	{
		return 2 * static_cast<int>(admin.metric("forwardoptimal_splice_pipes", {{"state", "in_use"}})
			+ admin.metric("forwardoptimal_splice_pipes", {{"state", "idle"}}));
	}

	// The checks every case ends with; `active` is the number of sessions expected to remain
	// besides the healthy one.
	void verifyAftermath(int active = 0)
	{
		BOOST_TEST(healthy->progresses(), "the healthy session was disturbed: " << healthy->problem());
		BOOST_TEST(alive(), proxy.log());
		BOOST_TEST(waitFor([&] { return this->active() == 1 + active; }, 30s),
			"sessions still active: " << this->active() << ", expected " << 1 + active);
		Usage now;
		int pipes = 0;
		BOOST_TEST(waitFor([&] { now = usage(); pipes = pipeDescriptors(); return now.fds - pipes <= baseline.fds - baselinePipes; }, 30s),
			"descriptors: " << now.fds << " now (" << pipes << " of them splice pipes), " << baseline.fds << " at the start ("
			<< baselinePipes << "):" << descriptors(proxy.pid()));
		now = usage();
		// Idle pool threads may stay for a while; never more than maxConnections of them.
		BOOST_TEST(now.threads <= baseline.threads + maxConnections,
			"threads: " << now.threads << " now, " << baseline.threads << " at the start");
		BOOST_TEST_MESSAGE("after: " << now.fds << " descriptors, " << now.threads << " threads, " << now.rssKiB << " KiB resident");

		std::string problem;
		std::uint64_t sent = healthy->finish(problem);
		BOOST_TEST(problem.empty(), problem);
		std::optional<FaultPeer::End> end = peer.end("healthy", 20s);
		BOOST_TEST_REQUIRE(end.has_value(), peer.output());
		BOOST_TEST(end->in == sent);
		BOOST_TEST(end->intact);
		BOOST_TEST(end->how == "eof");
	}

	int maxConnections;
	FaultPeer peer;
	RunningProxy proxy;
	AdminClient admin;
	std::string address;   // where clients connect
	std::unique_ptr<HealthySession> healthy;
	Usage baseline;
	int baselinePipes = 0;  // of baseline.fds, the splice pipes'
};

} // namespace

BOOST_AUTO_TEST_SUITE(fault_tests)

BOOST_AUTO_TEST_CASE(an_upstream_killed_mid_stream_ends_only_its_own_session)
{
	Scene scene({}, 64);
	Stream victim(scene.address, "echo victim");
	pid_t upstream = scene.peer.sessionPid("victim", 20s);
	BOOST_TEST_REQUIRE(upstream > 0, scene.peer.output());
	BOOST_TEST_REQUIRE(waitFor([&] { return victim.received() >= 4u * 1024 * 1024; }, 30s));
	BOOST_TEST_REQUIRE(::kill(upstream, SIGKILL) == 0);

	BOOST_TEST(waitFor([&] { return victim.ended() && victim.writerStopped(); }, 30s),
		"the client was not told: received " << victim.received() << ", end " << toString(victim.end()));
	BOOST_TEST(victim.intact());
	BOOST_TEST(victim.received() <= victim.sent());
	scene.verifyAftermath();
}

BOOST_AUTO_TEST_CASE(an_upstream_reset_reaches_its_client_and_no_other)
{
	Scene scene({}, 64);
	Stream victim(scene.address, "reset victim 1000000");
	std::optional<FaultPeer::End> upstream = scene.peer.end("victim", 30s);
	BOOST_TEST_REQUIRE(upstream.has_value(), scene.peer.output());
	BOOST_TEST(upstream->how == "reset-sent");
	BOOST_TEST(upstream->intact);

	BOOST_TEST(waitFor([&] { return victim.ended() && victim.writerStopped(); }, 30s),
		"the client was not told: received " << victim.received());
	BOOST_TEST(victim.intact());
	BOOST_TEST(victim.received() <= upstream->out); // nothing made up after the reset
	scene.verifyAftermath();
}

BOOST_AUTO_TEST_CASE(an_upstream_that_never_reads_costs_a_thread_only_until_the_idle_timeout)
{
	Scene scene(SettingsBuilder().set("idleTimeout", 1), 64);
	Stream victim(scene.address, "stall victim");
	BOOST_TEST_REQUIRE(scene.peer.sessionPid("victim", 20s) > 0, scene.peer.output()); // the session is relaying
	// The client's writes fill every buffer on the way and then block; the idle timeout must
	// end the session, which unblocks the client with an error.
	BOOST_TEST(waitFor([&] { return victim.ended() && victim.writerStopped(); }, 30s),
		"the client is still blocked after " << victim.sent() << " bytes");
	BOOST_TEST_MESSAGE("the client sent " << victim.sent() << " bytes before the idle timeout; end: " << toString(victim.end()));
	BOOST_TEST(victim.received() == 0u);
	scene.verifyAftermath();
}

BOOST_AUTO_TEST_CASE(a_client_that_resets_mid_stream_is_cleaned_up_and_its_upstream_reset)
{
	Scene scene({}, 64);
	RawClient victim(scene.address);
	BOOST_TEST_REQUIRE(victim.send("echo victim\n"));
	std::uint64_t offset = 0;
	for (int i = 0; i < 64; ++i, offset += 16384)
	{
		std::string problem;
		BOOST_TEST_REQUIRE(victim.sendPattern(offset, 16384));
		BOOST_TEST_REQUIRE(victim.expectPattern(offset, 16384, problem), problem);
	}
	BOOST_TEST_REQUIRE(victim.sendPattern(offset, 65536)); // in flight when the client vanishes
	victim.reset();

	std::optional<FaultPeer::End> upstream = scene.peer.end("victim", 30s);
	BOOST_TEST_REQUIRE(upstream.has_value(), scene.peer.output());
	BOOST_TEST(upstream->intact);
	BOOST_TEST(upstream->in >= offset); // everything acknowledged got there
	BOOST_TEST(upstream->in <= offset + 65536);
	BOOST_TEST(upstream->how != "eof", "a client's reset was passed on as a clean end");
	scene.verifyAftermath();
}

BOOST_AUTO_TEST_CASE(a_client_process_killed_with_sigkill_is_cleaned_up)
{
	Scene scene({}, 64);
	ChildProcess victim({peerPath(), "client", scene.address, "victim"});
	BOOST_TEST_REQUIRE(victim.waitForOutput("sent 1 MiB", 20s), victim.all());
	BOOST_TEST_REQUIRE(scene.peer.sessionPid("victim", 20s) > 0, scene.peer.output());
	victim.signal(SIGKILL); // it never read the echo: the kernel resets its connection
	BOOST_TEST(victim.waitExit(10s).value_or(-1) == 128 + SIGKILL);

	std::optional<FaultPeer::End> upstream = scene.peer.end("victim", 30s);
	BOOST_TEST_REQUIRE(upstream.has_value(), scene.peer.output());
	BOOST_TEST(upstream->intact);
	BOOST_TEST(upstream->in > 0u);
	scene.verifyAftermath();
}

BOOST_AUTO_TEST_CASE(memory_stays_bounded_while_clients_do_not_read_a_flooding_upstream)
{
	Scene scene(SettingsBuilder().set("idleTimeout", 60), 64);
	constexpr int FLOODS = 8;
	std::vector<std::unique_ptr<RawClient>> clients;
	for (int i = 0; i < FLOODS; ++i)
	{
		clients.push_back(std::make_unique<RawClient>(scene.address));
		BOOST_TEST_REQUIRE(clients.back()->send("flood f" + std::to_string(i) + "\n"));
	}
	for (int i = 0; i < FLOODS; ++i)
		BOOST_TEST_REQUIRE(scene.peer.sessionPid("f" + std::to_string(i), 20s) > 0, scene.peer.output());

	// The upstreams write as fast as they can, nobody reads: if the proxy buffered what it
	// cannot deliver, it would grow by hundreds of MiB a second. Watch it for 3 s.
	long highest = 0;
	auto until = std::chrono::steady_clock::now() + 3s;
	while (std::chrono::steady_clock::now() < until)
	{
		highest = std::max(highest, scene.usage().rssKiB);
		std::this_thread::sleep_for(50ms);
	}
	BOOST_TEST_MESSAGE("resident: " << scene.baseline.rssKiB << " KiB before, at most " << highest << " KiB while flooded");
	// Unbounded buffering would grow by gigabytes in 3 s. 32 MiB is a plain build's bound (it
	// grows by well under 1 MiB); a sanitizer's shadow memory and per-thread state grow with
	// every thread the proxy starts (TSan: 13 to 55 MiB measured here), so they get 256 MiB.
	const char* sanitizer = std::getenv("FO_SANITIZER");
	long bound = sanitizer && *sanitizer ? 256 * 1024 : 32 * 1024;
	BOOST_TEST(highest - scene.baseline.rssKiB < bound, "the proxy grew by " << highest - scene.baseline.rssKiB << " KiB");
	BOOST_TEST(scene.healthy->progresses(), scene.healthy->problem());

	// Every byte that was held back arrives, in order, once the clients read again.
	for (int i = 0; i < FLOODS; ++i)
	{
		std::string problem;
		BOOST_TEST(clients[static_cast<std::size_t>(i)]->expectPattern(0, 16 * 1024 * 1024, problem), "flood " << i << ": " << problem);
	}
	clients.clear(); // with unread data: resets
	for (int i = 0; i < FLOODS; ++i)
		BOOST_TEST(scene.peer.end("f" + std::to_string(i), 30s).has_value(), scene.peer.output());
	scene.verifyAftermath();
}

BOOST_AUTO_TEST_CASE(slowloris_clients_are_capped_per_source_and_freed_by_the_idle_timeout)
{
	// 127.0.0.2 opens 40 connections and never says a word; 16 threads in all, at most 8
	// sessions per address. The healthy session comes from 127.0.0.1.
	constexpr int PER_SOURCE = 8, SILENT = 40;
	Scene scene(SettingsBuilder().set("maxConnectionsPerSource", PER_SOURCE).set("maxQueued", 64).set("idleTimeout", 5), 16);
	std::vector<std::unique_ptr<RawClient>> silent;
	for (int i = 0; i < SILENT; ++i)
		silent.push_back(std::make_unique<RawClient>(scene.address, "127.0.0.2"));
	BOOST_TEST_REQUIRE(waitFor([&] { return scene.refused("per_source_limit") == SILENT - PER_SOURCE; }, 20s),
		"refused per source: " << scene.refused("per_source_limit"));
	BOOST_TEST(scene.active() == 1 + PER_SOURCE);

	// Another address is served at once, while 127.0.0.2 still holds its 8 sessions.
	{
		RawClient other(scene.address, "127.0.0.3");
		std::string problem;
		BOOST_TEST(other.send("echo other\n"));
		BOOST_TEST(other.sendPattern(0, 65536));
		BOOST_TEST(other.expectPattern(0, 65536, problem), problem);
		BOOST_TEST(scene.active() == 1 + PER_SOURCE + 1, "127.0.0.2's sessions ended too early to tell");
	}

	// The refused ones were reset at once; the others end at the idle timeout, with a FIN.
	int resets = 0, closed = 0, stuck = 0;
	for (auto& client : silent)
	{
		Outcome end = client->expectEnd(30s);
		resets += end == Outcome::RESET;
		closed += end == Outcome::CLOSED;
		stuck += end == Outcome::TIMEOUT || end == Outcome::DATA;
	}
	BOOST_TEST(resets == SILENT - PER_SOURCE);
	BOOST_TEST(closed == PER_SOURCE);
	BOOST_TEST(stuck == 0);
	silent.clear();

	// Every place was given back: 127.0.0.2 gets its 8 sessions again (and not a 9th).
	BOOST_TEST_REQUIRE(waitFor([&] { return scene.active() == 1; }, 30s));
	std::vector<std::unique_ptr<RawClient>> again;
	for (int i = 0; i < PER_SOURCE + 1; ++i)
	{
		again.push_back(std::make_unique<RawClient>(scene.address, "127.0.0.2"));
		// The ninth is reset at accept, possibly before its bytes are all written: only the
		// eight that get a place must take them (the count of those served says the rest).
		bool sent = again.back()->send("echo again" + std::to_string(i) + "\n") && again.back()->sendPattern(0, 1024);
		if (i < PER_SOURCE)
			BOOST_TEST(sent, "client " << i);
	}
	int served = 0;
	for (auto& client : again)
	{
		std::string problem;
		served += client->expectPattern(0, 1024, problem, 10s);
	}
	BOOST_TEST(served == PER_SOURCE);
	BOOST_TEST(scene.refused("per_source_limit") == SILENT - PER_SOURCE + 1);
	BOOST_TEST(scene.proxy.log().find("⛔ 来源地址的并发连接数已达上限 (maxConnectionsPerSource): 立即关闭新连接 127.0.0.2:")
		!= std::string::npos, scene.proxy.log());
	again.clear();
	scene.verifyAftermath();
}

BOOST_AUTO_TEST_CASE(running_out_of_descriptors_neither_spins_nor_sticks)
{
	// 64 descriptors in all: 16 sessions hold 32, the queue takes what is left, and the next
	// clients wait in the listen backlog while accept() fails with EMFILE.
	constexpr int LIMIT = 64;
	Scene scene(SettingsBuilder().set("maxQueued", 256).set("idleTimeout", 120), 16, LIMIT, 0);
	std::vector<std::unique_ptr<RawClient>> clients;
	for (int i = 0; i < 15; ++i)
	{
		clients.push_back(std::make_unique<RawClient>(scene.address));
		BOOST_TEST_REQUIRE(clients.back()->send("echo hold" + std::to_string(i) + "\n"));
	}
	BOOST_TEST_REQUIRE(waitFor([&] { return scene.active() == 16; }, 20s));
	for (int i = 0; i < 60; ++i)
		clients.push_back(std::make_unique<RawClient>(scene.address));
	BOOST_TEST_REQUIRE(waitFor([&] { return openFdCount(scene.proxy.pid()) >= LIMIT; }, 20s),
		"descriptors: " << openFdCount(scene.proxy.pid()) << ", proxy " << (scene.proxy.running() ? "running" : "gone")
		<< ", its log:\n" << scene.proxy.log());

	// The listener stays readable (the backlog is full of clients) while accept() fails.
	double before = cpuSeconds(scene.proxy.pid());
	std::this_thread::sleep_for(3s);
	double used = (cpuSeconds(scene.proxy.pid()) - before) / 3.0;
	BOOST_TEST_MESSAGE("CPU while out of descriptors: " << used * 100 << " % of one core");
	BOOST_TEST(used < 0.5, "the process spins: " << used * 100 << " % of one core");
	BOOST_TEST(scene.healthy->progresses(), scene.healthy->problem());
	BOOST_TEST(scene.proxy.running()); // (its admin endpoint cannot accept either, just now)
	BOOST_TEST(scene.proxy.log().find("Too many open files (RLIMIT_NOFILE 64") != std::string::npos, scene.proxy.log());
	// Probes fail here too, for want of a descriptor: that is no reason to call the target down.
	BOOST_TEST(scene.proxy.log().find("无法探测 " + scene.peer.address() + ": Too many open files") != std::string::npos, scene.proxy.log());

	// Once the descriptors are free again, new clients are served without any help.
	clients.clear();
	int attempts = 0;
	BOOST_TEST(waitFor([&] {
		++attempts;
		RawClient client(scene.address);
		std::string problem;
		return client.send("echo recovered" + std::to_string(attempts) + "\n") && client.sendPattern(0, 4096)
			&& client.expectPattern(0, 4096, problem, 5s);
	}, 60s), "no client was served after the descriptors were freed (" << attempts << " attempts)");
	BOOST_TEST(scene.proxy.log().find("节点离线") == std::string::npos, scene.proxy.log());
	BOOST_TEST(scene.proxy.log().find("服务暂停") == std::string::npos, scene.proxy.log());
	BOOST_TEST_MESSAGE("refused for want of descriptors: " << scene.refused("resource_shortage")
		<< "; served after " << attempts << " attempt(s)");
	scene.verifyAftermath();
}

BOOST_AUTO_TEST_CASE(a_burst_beyond_the_descriptor_limit_is_refused_without_blaming_the_target)
{
	// Threads to spare, descriptors not: the accept thread takes the last descriptors for new
	// clients before their sessions can open an upstream socket, whose socket() then fails
	// with EMFILE. Those clients are refused; the target is not to blame.
	constexpr int LIMIT = 48;
	Scene scene(SettingsBuilder().set("maxQueued", 256).set("idleTimeout", 120), 64, LIMIT, 0);
	int served = 0, refused = 0, other = 0;
	for (int round = 0; round < 5 && scene.refused("resource_shortage") <= 0; ++round)
	{
		std::vector<std::unique_ptr<RawClient>> clients;
		for (int i = 0; i < 60; ++i)
		{
			clients.push_back(std::make_unique<RawClient>(scene.address));
			clients.back()->send("echo burst" + std::to_string(round) + "-" + std::to_string(i) + "\n");
			clients.back()->sendPattern(0, 1024);
		}
		for (auto& client : clients)
		{
			std::string problem;
			if (client->expectPattern(0, 1024, problem, 10s))
				++served;
			else if (problem.rfind("reset after 0 ", 0) == 0 || problem.rfind("closed (FIN) after 0 ", 0) == 0)
				++refused;
			else
				++other;
		}
	}
	BOOST_TEST_MESSAGE("served " << served << ", refused " << refused << ", other " << other
		<< "; resource_shortage " << scene.refused("resource_shortage"));
	BOOST_TEST(scene.refused("resource_shortage") > 0);
	BOOST_TEST(scene.refused("resource_shortage") == refused); // each refusal counted, under its reason
	BOOST_TEST(other == 0);
	BOOST_TEST(scene.proxy.log().find("节点离线") == std::string::npos, scene.proxy.log());
	BOOST_TEST(scene.proxy.log().find("服务暂停") == std::string::npos, scene.proxy.log());
	scene.verifyAftermath();
}

BOOST_AUTO_TEST_CASE(a_connection_flood_beyond_threads_and_queue_is_refused_counted_and_survived)
{
	// 8 threads (one is the healthy session's) and 4 places in the queue; 100 clients at once,
	// each sending 1 KiB and waiting for its echo before it lets go of its thread.
	constexpr int FLOOD = 100;
	Scene scene(SettingsBuilder().set("maxQueued", 4).set("idleTimeout", 60), 8);
	std::vector<std::unique_ptr<RawClient>> clients;
	for (int i = 0; i < FLOOD; ++i)
	{
		clients.push_back(std::make_unique<RawClient>(scene.address));
		clients.back()->send("echo flood" + std::to_string(i) + "\n");
		clients.back()->sendPattern(0, 1024);
	}
	// In arrival order: the queue is first in, first out, so a waiting client's turn comes
	// once the served ones before it have closed.
	int served = 0, refused = 0, broken = 0;
	std::string firstBroken;
	for (auto& client : clients)
	{
		std::string problem;
		Fate fate = fateOf(client->expectPattern(0, 1024, problem, 20s), problem);
		served += fate == Fate::SERVED;
		refused += fate == Fate::REFUSED;
		if (fate == Fate::BROKEN && broken++ == 0)
			firstBroken = problem;
		client->close();
	}
	BOOST_TEST_MESSAGE("flood of " << FLOOD << ": " << served << " served, " << refused << " refused");
	BOOST_TEST(broken == 0, broken << " sessions broke, the first: " << firstBroken);
	BOOST_TEST(refused > 0); // the threads and the queue really ran out
	BOOST_TEST(served >= 4); // the first four always find the queue empty; how many more get a thread depends on timing
	// The counters tell the truth: every refusal under "overload", every other one accepted.
	BOOST_TEST(scene.refused("overload") == refused);
	BOOST_TEST(scene.admin.metric("forwardoptimal_connections_accepted_total") == served + 1);

	// And it is over: a new client is served at once.
	RawClient after(scene.address);
	std::string problem;
	BOOST_TEST(after.send("echo after\n"));
	BOOST_TEST(after.sendPattern(0, 65536));
	BOOST_TEST(after.expectPattern(0, 65536, problem), problem);
	after.close();
	scene.verifyAftermath();
}

BOOST_AUTO_TEST_CASE(a_target_flapping_every_second_for_a_minute_never_hands_out_a_dead_upstream)
{
	// The peer restarts the way servers do: stopped, its listener and the connections nobody
	// uses yet (the proxy's pooled ones) are closed; running sessions go on. It flips every
	// second for a minute while short sessions run back to back. Each must be served intact
	// or refused cleanly, and every refusal must be one the proxy counted: a stale pooled
	// socket handed out would end a session without a counted refusal.
	Scene scene(SettingsBuilder().set("idleTimeout", 60), 64);
	std::shared_mutex flip;            // sessions share it; a flip takes it alone, between sessions
	std::atomic<bool> done{false};
	std::atomic<int> phase{0};         // even: up, odd: down
	std::map<int, int> servedIn;       // phase -> sessions served
	int made = 0, served = 0, refused = 0, broken = 0, resetInConnect = 0;
	std::string firstBroken;
	std::thread sessions([&] {
		for (int n = 0; !done; ++n)
		{
			{
				std::shared_lock<std::shared_mutex> lock(flip);
				RawClient client(scene.address);
				++made;
				client.send("echo flap" + std::to_string(n) + "\n");
				client.sendPattern(0, 16384);
				std::string problem;
				Fate fate = fateOf(client.expectPattern(0, 16384, problem, 10s), problem);
				if (fate == Fate::SERVED)
				{
					++served;
					++servedIn[phase];
				}
				refused += fate == Fate::REFUSED;
				resetInConnect += client.connectError() == ECONNRESET;
				if (fate == Fate::BROKEN && broken++ == 0)
					firstBroken = "session " + std::to_string(n) + " in phase " + std::to_string(phase) + ": " + problem;
			}
			std::this_thread::sleep_for(10ms);
		}
	});
	constexpr int FLIPS = 60;
	for (int i = 1; i <= FLIPS; ++i)
	{
		std::this_thread::sleep_for(1s);
		std::unique_lock<std::shared_mutex> lock(flip);
		if (i % 2)
			scene.peer.stop();
		else
			scene.peer.start();
		phase = i;
	}
	done = true;
	sessions.join();

	int upPhasesServed = 0;
	for (const auto& [p, count] : servedIn)
		upPhasesServed += p % 2 == 0 && count > 0;
	BOOST_TEST_MESSAGE(made << " sessions: " << served << " served, " << refused << " refused (" << resetInConnect
		<< " of them reset before connect() returned), " << broken << " broken; served in " << upPhasesServed << " of " << FLIPS / 2 << " up phases; pooled sockets discarded: "
		<< scene.admin.metric("forwardoptimal_pool_discarded_total"));
	BOOST_TEST(broken == 0, broken << " sessions broke, the first: " << firstBroken);
	BOOST_TEST(upPhasesServed >= FLIPS / 4, "served in only " << upPhasesServed << " up phases");
	BOOST_TEST(refused > 0);
	BOOST_TEST_REQUIRE(waitFor([&] { return scene.active() == 1; }, 30s));
	BOOST_TEST(scene.admin.metric("forwardoptimal_connections_accepted_total") == made + 1);
	BOOST_TEST(scene.refused("no_healthy_target") + scene.refused("no_reachable_target") == refused);
	BOOST_TEST(scene.refused("overload") == 0);

	// /status says what is true, both ways.
	auto state = [&] {
		Poco::JSON::Object::Ptr status = scene.admin.status();
		Poco::JSON::Object::Ptr target = status->getArray("targets")->getObject(0);
		return std::make_pair(status->getValue<std::string>("state"), target->getValue<bool>("healthy"));
	};
	BOOST_TEST((waitFor([&] { return state() == std::make_pair(std::string("serving"), true); }, 20s)));
	scene.peer.stop();
	BOOST_TEST((waitFor([&] { return state() == std::make_pair(std::string("paused"), false); }, 20s)));
	BOOST_TEST(scene.admin.status()->getArray("targets")->getObject(0)->getValue<std::string>("lastError") == "connection refused");
	scene.peer.start();
	BOOST_TEST((waitFor([&] { return state() == std::make_pair(std::string("serving"), true); }, 20s)));
	BOOST_TEST(scene.admin.status()->getValue<std::string>("best") == scene.peer.address());
	scene.verifyAftermath();
}

BOOST_AUTO_TEST_SUITE_END()
