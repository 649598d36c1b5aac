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
#include "Pattern.h"
#include "RawSend.h"
#include "RunningProxy.h"
#include "SettingsBuilder.h"
#include "TestSupport.h"

#include "Poco/JSON/Array.h"
#include "Poco/JSON/Object.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>
#include <shared_mutex>
#include <thread>
#include <utility>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
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

// The rest of the first whole line of `text` that starts with `prefix`, or nothing.
std::optional<std::string> lineAfter(const std::string& text, const std::string& prefix)
{
	for (std::size_t at = 0; at < text.size();)
	{
		std::size_t end = text.find('\n', at);
		if (end == std::string::npos)
			break; // a line still being written
		if (text.compare(at, prefix.size(), prefix) == 0)
			return text.substr(at + prefix.size(), end - at - prefix.size());
		at = end + 1;
	}
	return std::nullopt;
}

std::string peerPath()
{
	const char* path = std::getenv("FO_FAULT_PEER");
	if (!path || !*path)
		throw std::runtime_error("FO_FAULT_PEER is not set: run the test through ctest");
	return path;
}

// ---------------------------------------------------------------------------------------------
// Plain sockets: the clients must be able to bind a source address, reset, and stop reading.

sockaddr_in ipv4(const std::string& hostPort)
{
	sockaddr_in address{};
	address.sin_family = AF_INET;
	std::size_t colon = hostPort.rfind(':');
	if (colon == std::string::npos || ::inet_pton(AF_INET, hostPort.substr(0, colon).c_str(), &address.sin_addr) != 1)
		throw std::runtime_error("not an IPv4 host:port: " + hostPort);
	address.sin_port = htons(static_cast<std::uint16_t>(std::stoi(hostPort.substr(colon + 1))));
	return address;
}

enum class Outcome { DATA, CLOSED, RESET, TIMEOUT };

const char* toString(Outcome outcome)
{
	switch (outcome)
	{
	case Outcome::DATA: return "data";
	case Outcome::CLOSED: return "closed (FIN)";
	case Outcome::RESET: return "reset";
	case Outcome::TIMEOUT: return "timeout";
	}
	return "?";
}

// Waits up to `timeout` for bytes: DATA with `got` > 0, or how the stream ended.
Outcome receiveSome(int fd, char* buffer, std::size_t size, std::chrono::milliseconds timeout, std::size_t& got)
{
	got = 0;
	pollfd entry{fd, POLLIN, 0};
	int ready;
	do
		ready = ::poll(&entry, 1, static_cast<int>(timeout.count()));
	while (ready < 0 && errno == EINTR);
	if (ready == 0)
		return Outcome::TIMEOUT;
	ssize_t n;
	do
		n = ::recv(fd, buffer, size, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0)
	{
		got = static_cast<std::size_t>(n);
		return Outcome::DATA;
	}
	if (n == 0)
		return Outcome::CLOSED;
	if (errno == EAGAIN)
		return Outcome::TIMEOUT;
	return Outcome::RESET; // ECONNRESET, or EPIPE after one
}

// A client connection to `to`, from `from` (any loopback address) when given.
// A proxy that refuses a client resets it at once, and the reset can arrive before the
// client's connect() returns: then connect() fails with ECONNRESET. That is a refusal like
// any other, so the failure is kept (connectError()) and the connection reads as reset.
class Client
{
public:
	explicit Client(const std::string& to, const std::string& from = std::string())
	{
		_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (!from.empty())
		{
			sockaddr_in source = ipv4(from + ":0");
			if (::bind(_fd, reinterpret_cast<const sockaddr*>(&source), sizeof source) != 0)
				throw std::runtime_error("bind " + from + ": " + std::strerror(errno));
		}
		sockaddr_in address = ipv4(to);
		if (::connect(_fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
			_connectError = errno;
	}

	int connectError() const { return _connectError; }

	~Client() { close(); }
	Client(const Client&) = delete;
	Client& operator=(const Client&) = delete;

	int fd() const { return _fd; }

	bool send(const std::string& bytes) { return send(bytes.data(), bytes.size()); }

	bool send(const char* data, std::size_t size) { return sendAll(_fd, data, size); }

	bool sendPattern(std::uint64_t offset, std::size_t size)
	{
		std::string chunk(size, '\0');
		fillPattern(chunk.data(), size, offset);
		return send(chunk);
	}

	// Reads exactly `size` bytes of the pattern from `offset` on; false (with the reason) if the
	// stream ends, stalls for `timeout`, or carries anything else.
	bool expectPattern(std::uint64_t offset, std::size_t size, std::string& problem,
		std::chrono::milliseconds timeout = std::chrono::milliseconds(20000))
	{
		if (_connectError != 0)
		{
			problem = _connectError == ECONNRESET ? "reset after 0 of " + std::to_string(size) + " bytes (in connect)"
				: std::string("connect: ") + std::strerror(_connectError);
			return false;
		}
		std::string data(size, '\0');
		std::size_t have = 0;
		while (have < size)
		{
			std::size_t got = 0;
			Outcome outcome = receiveSome(_fd, data.data() + have, size - have, timeout, got);
			if (outcome != Outcome::DATA)
			{
				problem = std::string(toString(outcome)) + " after " + std::to_string(have) + " of " + std::to_string(size) + " bytes";
				return false;
			}
			have += got;
		}
		if (!matchesPattern(data.data(), size, offset))
		{
			problem = "bytes differ from the pattern";
			return false;
		}
		return true;
	}

	// Waits for the end of the stream, discarding nothing: any byte that arrives is an error.
	Outcome expectEnd(std::chrono::milliseconds timeout)
	{
		if (_connectError == ECONNRESET)
			return Outcome::RESET;
		char byte;
		std::size_t got = 0;
		return receiveSome(_fd, &byte, 1, timeout, got);
	}

	void shutdownSend() { ::shutdown(_fd, SHUT_WR); }

	// Vanishes without FIN: SO_LINGER 0 makes close() send a reset.
	void reset()
	{
		linger option{1, 0};
		::setsockopt(_fd, SOL_SOCKET, SO_LINGER, &option, sizeof option);
		close();
	}

	void close()
	{
		if (_fd >= 0)
			::close(_fd);
		_fd = -1;
	}

private:
	int _fd = -1;
	int _connectError = 0;
};

// ---------------------------------------------------------------------------------------------
// The upstream: fo_fault_peer serve.

class Peer
{
public:
	struct End
	{
		std::uint64_t in = 0;
		std::uint64_t out = 0;
		bool intact = false;
		std::string how;
	};

	Peer(): _process({peerPath(), "serve", "127.0.0.1:0"})
	{
		if (!_process.waitForOutput("listening ", 10s))
			throw std::runtime_error("fo_fault_peer did not start: " + _process.all());
		waitFor([&] { return lineAfter(_process.out(), "listening ").has_value(); }, 10s);
		_address = lineAfter(_process.out(), "listening ").value_or("");
	}

	const std::string& address() const { return _address; }
	std::string output() const { return _process.all(); }

	pid_t sessionPid(const std::string& name, std::chrono::milliseconds timeout) const
	{
		std::optional<std::string> pid;
		waitFor([&] { return (pid = lineAfter(_process.out(), "session " + name + " ")).has_value(); }, timeout);
		return pid ? static_cast<pid_t>(std::stol(*pid)) : -1;
	}

	std::optional<End> end(const std::string& name, std::chrono::milliseconds timeout) const
	{
		std::optional<std::string> line;
		if (!waitFor([&] { return (line = lineAfter(_process.out(), "end " + name + " ")).has_value(); }, timeout))
			return std::nullopt;
		// "in=N out=M intact=0|1 how=TEXT"
		End end;
		std::istringstream fields(*line);
		std::string in, out, intact;
		fields >> in >> out >> intact;
		end.in = std::stoull(in.substr(3));
		end.out = std::stoull(out.substr(4));
		end.intact = intact == "intact=1";
		std::size_t how = line->find(" how=");
		end.how = how == std::string::npos ? std::string() : line->substr(how + 5);
		return end;
	}

	// Stops as a server restart does: no listener, unused connections closed; sessions go on.
	void stop()
	{
		_process.signal(SIGUSR1);
		++_stops;
		if (!_process.waitForOutput("stopped " + std::to_string(_stops) + "\n", 10s))
			throw std::runtime_error("fo_fault_peer did not stop: " + _process.all());
	}

	void start()
	{
		_process.signal(SIGUSR2);
		if (!_process.waitForOutput("started " + std::to_string(_stops) + "\n", 10s))
			throw std::runtime_error("fo_fault_peer did not start again: " + _process.all());
	}

private:
	ChildProcess _process;
	std::string _address;
	int _stops = 0;
};

// ---------------------------------------------------------------------------------------------
// Sessions.

// A session that keeps exchanging verified 4 KiB round trips through the proxy on its own
// thread, every 5 ms, until finish(). No Boost.Test macro runs on its thread.
class HealthySession
{
public:
	explicit HealthySession(const std::string& proxy):
		_client(proxy)
	{
		if (_client.connectError() != 0 || !_client.send("echo healthy\n"))
			throw std::runtime_error("healthy session: cannot send");
		_thread = std::thread([this] { loop(); });
	}

	~HealthySession() { stopThread(); }

	std::string problem() const
	{
		std::lock_guard<std::mutex> lock(_mutex);
		return _problem;
	}

	// True once `more` further round trips have been verified (false on any failure).
	bool progresses(int more = 5, std::chrono::milliseconds timeout = 30s) const
	{
		int from = _rounds;
		waitFor([&] { return _rounds >= from + more || !problem().empty(); }, timeout);
		return _rounds >= from + more && problem().empty();
	}

	int rounds() const { return _rounds; }

	// Stops, half-closes and expects the echo's FIN with nothing more; returns what was sent.
	std::uint64_t finish(std::string& problem)
	{
		stopThread();
		problem = this->problem();
		_client.shutdownSend();
		Outcome end = _client.expectEnd(20s);
		if (problem.empty() && end != Outcome::CLOSED)
			problem = std::string("expected a clean end after the half-close, got ") + toString(end);
		return _sent;
	}

private:
	void loop()
	{
		constexpr std::size_t SIZE = 4096;
		while (!_stop)
		{
			if (!_client.sendPattern(_sent, SIZE))
				return fail(std::string("send: ") + std::strerror(errno));
			std::string problem;
			if (!_client.expectPattern(_sent, SIZE, problem, 20s))
				return fail("round " + std::to_string(_rounds.load()) + ": " + problem);
			_sent += SIZE;
			++_rounds;
			std::this_thread::sleep_for(5ms);
		}
	}

	void fail(const std::string& problem)
	{
		std::lock_guard<std::mutex> lock(_mutex);
		_problem = problem;
	}

	void stopThread()
	{
		_stop = true;
		if (_thread.joinable())
			_thread.join();
	}

	Client _client;
	std::atomic<bool> _stop{false};
	std::atomic<int> _rounds{0};
	std::uint64_t _sent = 0;
	mutable std::mutex _mutex;
	std::string _problem;
	std::thread _thread;
};

// A client streaming the pattern both ways as fast as it goes, a writer and a reader thread,
// until the connection breaks (or the stream is destroyed). Records how far each got.
class Stream
{
public:
	Stream(const std::string& proxy, const std::string& line):
		_client(proxy)
	{
		if (_client.connectError() != 0 || !_client.send(line + "\n"))
			throw std::runtime_error("stream: cannot send its line");
		_writer = std::thread([this] { write(); });
		_reader = std::thread([this] { read(); });
	}

	~Stream()
	{
		_stop = true;
		::shutdown(_client.fd(), SHUT_RDWR); // wakes a blocked send or poll
		_writer.join();
		_reader.join();
	}

	std::uint64_t sent() const { return _sent; }
	std::uint64_t received() const { return _received; }
	bool intact() const { return _intact; }
	bool ended() const { return _ended; }            // the reader saw the end (or a stall)
	bool writerStopped() const { return _writerStopped; }
	Outcome end() const { return _end; }

private:
	void write()
	{
		std::string chunk(65536, '\0');
		while (!_stop)
		{
			fillPattern(chunk.data(), chunk.size(), _sent);
			if (!_client.send(chunk))
				break;
			_sent += chunk.size();
		}
		_writerStopped = true;
	}

	void read()
	{
		std::string buffer(65536, '\0');
		while (!_stop)
		{
			std::size_t got = 0;
			Outcome outcome = receiveSome(_client.fd(), buffer.data(), buffer.size(), 60s, got);
			if (outcome != Outcome::DATA)
			{
				_end = outcome;
				break;
			}
			_intact = _intact && matchesPattern(buffer.data(), got, _received);
			_received += got;
		}
		_ended = true;
	}

	Client _client;
	std::atomic<bool> _stop{false};
	std::atomic<std::uint64_t> _sent{0};
	std::atomic<std::uint64_t> _received{0};
	std::atomic<bool> _intact{true};
	std::atomic<bool> _ended{false};
	std::atomic<bool> _writerStopped{false};
	std::atomic<Outcome> _end{Outcome::DATA};
	std::thread _writer;
	std::thread _reader;
};

// How a short session that sent the pattern and waited for its echo went.
enum class Fate { SERVED, REFUSED, BROKEN };

// A refusal: the connection ended (reset or FIN) before a single byte came back.
Fate fateOf(bool echoed, const std::string& problem)
{
	if (echoed)
		return Fate::SERVED;
	if (problem.rfind("reset after 0 ", 0) == 0 || problem.rfind("closed (FIN) after 0 ", 0) == 0)
		return Fate::REFUSED;
	return Fate::BROKEN;
}

// ---------------------------------------------------------------------------------------------
// One case's world: a peer, ForwardOptimal in front of it, a healthy session through it, and
// the proxy's usage once all that has settled.

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

	// The checks every case ends with; `active` is the number of sessions expected to remain
	// besides the healthy one.
	void verifyAftermath(int active = 0)
	{
		BOOST_TEST(healthy->progresses(), "the healthy session was disturbed: " << healthy->problem());
		BOOST_TEST(alive(), proxy.log());
		BOOST_TEST(waitFor([&] { return this->active() == 1 + active; }, 30s),
			"sessions still active: " << this->active() << ", expected " << 1 + active);
		Usage now;
		BOOST_TEST(waitFor([&] { now = usage(); return now.fds <= baseline.fds; }, 30s),
			"descriptors: " << now.fds << " now, " << baseline.fds << " at the start:" << descriptors(proxy.pid()));
		now = usage();
		// Idle pool threads may stay for a while; never more than maxConnections of them.
		BOOST_TEST(now.threads <= baseline.threads + maxConnections,
			"threads: " << now.threads << " now, " << baseline.threads << " at the start");
		BOOST_TEST_MESSAGE("after: " << now.fds << " descriptors, " << now.threads << " threads, " << now.rssKiB << " KiB resident");

		std::string problem;
		std::uint64_t sent = healthy->finish(problem);
		BOOST_TEST(problem.empty(), problem);
		std::optional<Peer::End> end = peer.end("healthy", 20s);
		BOOST_TEST_REQUIRE(end.has_value(), peer.output());
		BOOST_TEST(end->in == sent);
		BOOST_TEST(end->intact);
		BOOST_TEST(end->how == "eof");
	}

	int maxConnections;
	Peer peer;
	RunningProxy proxy;
	AdminClient admin;
	std::string address;   // where clients connect
	std::unique_ptr<HealthySession> healthy;
	Usage baseline;
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
	std::optional<Peer::End> upstream = scene.peer.end("victim", 30s);
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
	Client victim(scene.address);
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

	std::optional<Peer::End> upstream = scene.peer.end("victim", 30s);
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

	std::optional<Peer::End> upstream = scene.peer.end("victim", 30s);
	BOOST_TEST_REQUIRE(upstream.has_value(), scene.peer.output());
	BOOST_TEST(upstream->intact);
	BOOST_TEST(upstream->in > 0u);
	scene.verifyAftermath();
}

BOOST_AUTO_TEST_CASE(memory_stays_bounded_while_clients_do_not_read_a_flooding_upstream)
{
	Scene scene(SettingsBuilder().set("idleTimeout", 60), 64);
	constexpr int FLOODS = 8;
	std::vector<std::unique_ptr<Client>> clients;
	for (int i = 0; i < FLOODS; ++i)
	{
		clients.push_back(std::make_unique<Client>(scene.address));
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
	BOOST_TEST(highest - scene.baseline.rssKiB < 32 * 1024, "the proxy grew by " << highest - scene.baseline.rssKiB << " KiB");
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
	std::vector<std::unique_ptr<Client>> silent;
	for (int i = 0; i < SILENT; ++i)
		silent.push_back(std::make_unique<Client>(scene.address, "127.0.0.2"));
	BOOST_TEST_REQUIRE(waitFor([&] { return scene.refused("per_source_limit") == SILENT - PER_SOURCE; }, 20s),
		"refused per source: " << scene.refused("per_source_limit"));
	BOOST_TEST(scene.active() == 1 + PER_SOURCE);

	// Another address is served at once, while 127.0.0.2 still holds its 8 sessions.
	{
		Client other(scene.address, "127.0.0.3");
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
	std::vector<std::unique_ptr<Client>> again;
	for (int i = 0; i < PER_SOURCE + 1; ++i)
	{
		again.push_back(std::make_unique<Client>(scene.address, "127.0.0.2"));
		BOOST_TEST(again.back()->send("echo again" + std::to_string(i) + "\n"));
		BOOST_TEST(again.back()->sendPattern(0, 1024));
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
	std::vector<std::unique_ptr<Client>> clients;
	for (int i = 0; i < 15; ++i)
	{
		clients.push_back(std::make_unique<Client>(scene.address));
		BOOST_TEST_REQUIRE(clients.back()->send("echo hold" + std::to_string(i) + "\n"));
	}
	BOOST_TEST_REQUIRE(waitFor([&] { return scene.active() == 16; }, 20s));
	for (int i = 0; i < 60; ++i)
		clients.push_back(std::make_unique<Client>(scene.address));
	BOOST_TEST_REQUIRE(waitFor([&] { return openFdCount(scene.proxy.pid()) >= LIMIT; }, 20s),
		"descriptors: " << openFdCount(scene.proxy.pid()));

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
		Client client(scene.address);
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
		std::vector<std::unique_ptr<Client>> clients;
		for (int i = 0; i < 60; ++i)
		{
			clients.push_back(std::make_unique<Client>(scene.address));
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
	std::vector<std::unique_ptr<Client>> clients;
	for (int i = 0; i < FLOOD; ++i)
	{
		clients.push_back(std::make_unique<Client>(scene.address));
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
	Client after(scene.address);
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
				Client client(scene.address);
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
