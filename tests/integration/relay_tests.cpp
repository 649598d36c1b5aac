// The Relay alone, on real loopback sockets, with each way of moving bytes: splice "off" (the
// copy path), "always" (every byte through a pooled pipe when one is free) and "auto" (bulk
// through a pipe, the rest copied). Each session has four ends: the test's client, the relay's
// two sockets (closed when run() returns, as ForwardConnection does) and the test's backend.
#include "proxy/PipePool.h"
#include "proxy/Relay.h"

#include "TestSupport.h"

#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/StreamSocket.h"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <future>
#include <mutex>
#include <random>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

using namespace ForwardOptimal;
using namespace ForwardOptimal::Test;
using Config::SpliceMode;

// Named, not anonymous: the data-driven cases are templates whose lambdas capture these types.
namespace RelayTest {

// The modes each data-driven case runs with, as the config spells them.
const std::vector<std::string> MODES = {"off", "always", "auto"};

SpliceMode modeOf(const std::string& name)
{
	return name == "always" ? SpliceMode::ALWAYS : name == "auto" ? SpliceMode::AUTO : SpliceMode::OFF;
}

// How a read to the end ended.
enum class End { EOF_, RESET, TIMEOUT, OTHER };

struct Received
{
	std::string data;
	End end = End::OTHER;
};

// Reads until EOF, a reset or `timeout` without a byte.
Received readToEnd(Poco::Net::StreamSocket& socket, std::chrono::seconds timeout = 20s)
{
	socket.setReceiveTimeout(Poco::Timespan(static_cast<long>(timeout.count()), 0));
	Received received;
	char buffer[65536];
	for (;;)
	{
		ssize_t n = ::recv(socket.impl()->sockfd(), buffer, sizeof buffer, 0);
		if (n > 0)
		{
			received.data.append(buffer, static_cast<std::size_t>(n));
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		received.end = n == 0 ? End::EOF_ : errno == ECONNRESET ? End::RESET
			: errno == EAGAIN || errno == EWOULDBLOCK ? End::TIMEOUT : End::OTHER;
		return received;
	}
}

// Sends all of `data` (blocking); false once the peer is gone.
bool sendAll(Poco::Net::StreamSocket& socket, const std::string& data)
{
	for (std::size_t sent = 0; sent < data.size();)
	{
		ssize_t n = ::send(socket.impl()->sockfd(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		sent += static_cast<std::size_t>(n);
	}
	return true;
}

void resetClose(Poco::Net::StreamSocket& socket)
{
	linger reset{1, 0};
	::setsockopt(socket.impl()->sockfd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
	socket.close();
}

// One relayed session: client -> [relay] -> backend, the relay on its own thread.
struct Session
{
	Session(Poco::Net::ServerSocket& front, Poco::Net::ServerSocket& back, Proxy::SpliceOptions splice,
		std::chrono::milliseconds idleTimeout = 30s, int stopFd = -1, std::size_t bufferSize = 32768)
	{
		// One session at a time on the listeners, so each accept() takes this session's connect.
		static std::mutex setup;
		std::lock_guard<std::mutex> lock(setup);
		client.connect(front.address());
		Poco::Net::StreamSocket relayClient = front.acceptConnection();
		Poco::Net::StreamSocket relayUpstream(back.address());
		backend = back.acceptConnection();
		result = std::async(std::launch::async, [=]() mutable {
			Proxy::RelayResult end;
			{
				Proxy::Relay relay(relayClient.impl()->sockfd(), relayUpstream.impl()->sockfd(), bufferSize,
					idleTimeout, stopFd, splice);
				end = relay.run();
			}
			relayUpstream.close();
			relayClient.close();
			return end;
		});
	}

	void close()
	{
		client.close();
		backend.close();
	}

	Proxy::RelayResult finish()
	{
		BOOST_REQUIRE(result.wait_for(30s) == std::future_status::ready);
		return result.get();
	}

	Poco::Net::StreamSocket client;
	Poco::Net::StreamSocket backend;
	std::future<Proxy::RelayResult> result;
};

struct Fixture
{
	Fixture():
		front(Poco::Net::SocketAddress("127.0.0.1", 0), 256),
		back(Poco::Net::SocketAddress("127.0.0.1", 0), 256),
		descriptorsBefore(openFdCount())
	{
	}

	// A pool of `maxPipes`; `splice` uses it.
	Proxy::SpliceOptions pool(const std::string& mode, std::size_t maxPipes = 64)
	{
		return pool(modeOf(mode), maxPipes);
	}

	Proxy::SpliceOptions pool(SpliceMode mode, std::size_t maxPipes = 64)
	{
		pPool = std::make_unique<Proxy::PipePool>(maxPipes, Proxy::PipePool::MAX_IDLE, fallbacks);
		return Proxy::SpliceOptions{mode, pPool.get()};
	}

	// Every pipe back in the pool, and no descriptor left open but the idle pipes' (and
	// `session`'s two ends, closed first).
	void checkNoLeak(Session& session)
	{
		session.close();
		checkNoLeak();
	}

	void checkNoLeak()
	{
		BOOST_TEST(pPool->usage().inUse == 0u);
		int pipes = 2 * static_cast<int>(pPool->usage().idle);
		BOOST_TEST(waitFor([&] { return openFdCount() == descriptorsBefore + pipes; }, 5s),
			openFdCount() << " descriptors, " << descriptorsBefore << " before plus " << pipes << " of idle pipes");
		pPool.reset();
		BOOST_TEST(openFdCount() == descriptorsBefore);
	}

	Poco::Net::ServerSocket front;
	Poco::Net::ServerSocket back;
	std::atomic<std::uint64_t> fallbacks{0};
	std::unique_ptr<Proxy::PipePool> pPool;
	int descriptorsBefore;
};

// Sends `up` from the client and `down` from the backend at once, each side reading to EOF
// after its FIN; true if each side got exactly what the other sent.
bool exchange(Session& session, const std::string& up, const std::string& down)
{
	auto atBackend = std::async(std::launch::async, [&] { return readToEnd(session.backend); });
	auto atClient = std::async(std::launch::async, [&] { return readToEnd(session.client); });
	auto backendSends = std::async(std::launch::async, [&] {
		bool ok = sendAll(session.backend, down);
		session.backend.shutdownSend();
		return ok;
	});
	bool ok = sendAll(session.client, up);
	session.client.shutdownSend();
	ok = backendSends.get() && ok;
	Received backend = atBackend.get();
	Received client = atClient.get();
	return ok && backend.end == End::EOF_ && backend.data == up && client.end == End::EOF_ && client.data == down;
}

} // namespace RelayTest

using namespace RelayTest;

BOOST_TEST_GLOBAL_FIXTURE(IgnoreSigpipe);

BOOST_FIXTURE_TEST_SUITE(relay_tests, Fixture)

BOOST_DATA_TEST_CASE_F(Fixture, relays_megabytes_both_ways_intact_for_many_concurrent_clients,
	boost::unit_test::data::make(MODES), mode)
{
	Proxy::SpliceOptions splice = pool(mode);
	const int clients = 12;
	std::vector<std::future<std::string>> problems;
	for (int i = 0; i < clients; ++i)
		problems.push_back(std::async(std::launch::async, [&, i]() -> std::string {
			Session session(front, back, splice);
			std::string up = randomBytes(2 * 1024 * 1024 + static_cast<std::size_t>(i) * 7919, static_cast<unsigned>(i));
			std::string down = randomBytes(3 * 1024 * 1024 + static_cast<std::size_t>(i) * 104729, static_cast<unsigned>(100 + i));
			bool intact = exchange(session, up, down);
			Proxy::RelayResult result = session.result.get();
			if (!intact)
				return "session " + std::to_string(i) + " not intact";
			if (result.end != Proxy::RelayEnd::COMPLETED || result.clientToUpstream != up.size()
				|| result.upstreamToClient != down.size())
				return "session " + std::to_string(i) + ": " + toString(result.end) + ", "
					+ std::to_string(result.clientToUpstream) + " up, " + std::to_string(result.upstreamToClient) + " down";
			bool splicedAsExpected = mode == "off" ? result.spliced == 0
				: mode == "always" ? result.spliced == up.size() + down.size() : result.spliced > 0;
			if (!splicedAsExpected)
				return "session " + std::to_string(i) + ": " + std::to_string(result.spliced) + " bytes spliced";
			return "";
		}));
	for (auto& problem : problems)
	{
		std::string text = problem.get();
		BOOST_TEST(text.empty(), text);
	}
	BOOST_TEST(fallbacks == 0u);
	BOOST_TEST((pPool->usage().idle > 0u) == (mode != "off")); // pipes were made only to splice
	checkNoLeak();
}

BOOST_DATA_TEST_CASE_F(Fixture, propagates_the_clients_half_close, boost::unit_test::data::make(MODES), mode)
{
	// The client sends its request and half-closes; the backend reads it to the end, and only
	// then answers and closes: the answer must still reach the client.
	Session session(front, back, pool(mode));
	std::string request = randomBytes(300000, 1);
	std::string answer = randomBytes(500000, 2);
	BOOST_TEST_REQUIRE(sendAll(session.client, request));
	session.client.shutdownSend();
	Received atBackend = readToEnd(session.backend);
	BOOST_TEST((atBackend.end == End::EOF_));
	BOOST_TEST((atBackend.data == request));
	BOOST_TEST_REQUIRE(sendAll(session.backend, answer));
	session.backend.shutdownSend();
	Received atClient = readToEnd(session.client);
	BOOST_TEST((atClient.end == End::EOF_));
	BOOST_TEST((atClient.data == answer));
	Proxy::RelayResult result = session.finish();
	BOOST_TEST(toString(result.end) == "completed");
	BOOST_TEST(result.clientToUpstream == request.size());
	BOOST_TEST(result.upstreamToClient == answer.size());
	checkNoLeak(session);
}

BOOST_DATA_TEST_CASE_F(Fixture, propagates_the_upstreams_half_close, boost::unit_test::data::make(MODES), mode)
{
	// The server speaks first and closes its side; the client keeps sending afterwards.
	Session session(front, back, pool(mode));
	std::string banner = randomBytes(400000, 3);
	std::string request = randomBytes(600000, 4);
	BOOST_TEST_REQUIRE(sendAll(session.backend, banner));
	session.backend.shutdownSend();
	Received atClient = readToEnd(session.client);
	BOOST_TEST((atClient.end == End::EOF_));
	BOOST_TEST((atClient.data == banner));
	BOOST_TEST_REQUIRE(sendAll(session.client, request));
	session.client.shutdownSend();
	Received atBackend = readToEnd(session.backend);
	BOOST_TEST((atBackend.end == End::EOF_));
	BOOST_TEST((atBackend.data == request));
	Proxy::RelayResult result = session.finish();
	BOOST_TEST(toString(result.end) == "completed");
	BOOST_TEST(result.upstreamToClient == banner.size());
	BOOST_TEST(result.clientToUpstream == request.size());
	checkNoLeak(session);
}

BOOST_DATA_TEST_CASE_F(Fixture, an_idle_session_times_out_and_both_peers_see_the_end, boost::unit_test::data::make(MODES), mode)
{
	Session session(front, back, pool(mode), 300ms);
	std::string hello = randomBytes(100000, 5);
	BOOST_TEST_REQUIRE(sendAll(session.client, hello));
	Received atBackend;
	BOOST_TEST(waitFor([&] {
		char buffer[65536];
		ssize_t n = ::recv(session.backend.impl()->sockfd(), buffer, sizeof buffer, MSG_DONTWAIT);
		if (n > 0)
			atBackend.data.append(buffer, static_cast<std::size_t>(n));
		return atBackend.data.size() >= hello.size();
	}, 10s));
	BOOST_TEST((atBackend.data == hello));
	Proxy::RelayResult result = session.finish(); // nothing more moves: the timeout ends it
	BOOST_TEST(toString(result.end) == "idle timeout");
	BOOST_TEST((readToEnd(session.client).end == End::EOF_));
	BOOST_TEST((readToEnd(session.backend).end == End::EOF_));
	checkNoLeak(session);
}

BOOST_DATA_TEST_CASE_F(Fixture, a_stalled_reader_stops_the_relay_reading_and_loses_nothing, boost::unit_test::data::make(MODES), mode)
{
	// The backend reads nothing for a while: the client's sends must block (the relay holds at
	// most a buffer or a pipe), and once the backend reads, every byte arrives in order.
	Session session(front, back, pool(mode));
	std::string data = randomBytes(32 * 1024 * 1024, 6);
	std::atomic<std::size_t> sentSoFar{0};
	auto sender = std::async(std::launch::async, [&] {
		const std::size_t step = 65536;
		for (std::size_t at = 0; at < data.size(); at += step)
		{
			if (!sendAll(session.client, data.substr(at, step)))
				return false;
			sentSoFar = at + step;
		}
		session.client.shutdownSend();
		return true;
	});
	// The sender stalls well short of the end (socket buffers hold a few MiB at most).
	std::size_t stalledAt = 0;
	BOOST_TEST(waitFor([&] {
		std::size_t before = sentSoFar;
		std::this_thread::sleep_for(300ms);
		stalledAt = sentSoFar;
		return before == stalledAt;
	}, 20s));
	BOOST_TEST(stalledAt < data.size());
	BOOST_TEST_MESSAGE("sender stalled after " << stalledAt << " bytes");
	Received atBackend = readToEnd(session.backend);
	BOOST_TEST(sender.get());
	BOOST_TEST((atBackend.end == End::EOF_));
	BOOST_TEST((atBackend.data == data));
	session.backend.shutdownSend();
	Proxy::RelayResult result = session.finish();
	BOOST_TEST(toString(result.end) == "completed");
	BOOST_TEST(result.clientToUpstream == data.size());
	checkNoLeak(session);
}

// Both directions carry bytes first (so with splice both have used a pipe), then one side
// resets: the other must see a reset, not a clean end, and nothing made up before it.
bool exchangeSome(Session& session)
{
	std::string down = randomBytes(512 * 1024, 7);
	std::string up = randomBytes(512 * 1024, 8);
	if (!sendAll(session.backend, down))
		return false;
	std::string got(down.size(), '\0');
	if (session.client.receiveBytes(&got[0], static_cast<int>(got.size()), MSG_WAITALL) != static_cast<int>(got.size()) || got != down)
		return false;
	if (!sendAll(session.client, up))
		return false;
	got.assign(up.size(), '\0');
	return session.backend.receiveBytes(&got[0], static_cast<int>(got.size()), MSG_WAITALL) == static_cast<int>(got.size()) && got == up;
}

BOOST_DATA_TEST_CASE_F(Fixture, an_upstream_reset_resets_the_client, boost::unit_test::data::make(MODES), mode)
{
	Session session(front, back, pool(mode));
	BOOST_TEST_REQUIRE(exchangeSome(session));
	resetClose(session.backend);
	Proxy::RelayResult result = session.finish();
	BOOST_TEST(toString(result.end) == "upstream error");
	Received atClient = readToEnd(session.client);
	BOOST_TEST((atClient.end == End::RESET));
	BOOST_TEST(atClient.data.empty());
	checkNoLeak(session);
}

BOOST_DATA_TEST_CASE_F(Fixture, a_client_reset_resets_the_upstream, boost::unit_test::data::make(MODES), mode)
{
	Session session(front, back, pool(mode));
	BOOST_TEST_REQUIRE(exchangeSome(session));
	resetClose(session.client);
	Proxy::RelayResult result = session.finish();
	BOOST_TEST(toString(result.end) == "client error");
	Received atBackend = readToEnd(session.backend);
	BOOST_TEST((atBackend.end == End::RESET));
	BOOST_TEST(atBackend.data.empty());
	checkNoLeak(session);
}

BOOST_DATA_TEST_CASE_F(Fixture, an_upstream_reset_with_bytes_in_flight_ends_the_session, boost::unit_test::data::make(MODES), mode)
{
	// The backend reads nothing and resets while the client floods: the relay holds bytes (in
	// its buffer or pipe) it can no longer deliver. The session ends as an upstream error, the
	// client's sends fail, and with splice the pipe that held those bytes is not reused.
	Session session(front, back, pool(mode));
	auto sender = std::async(std::launch::async, [&] { return sendAll(session.client, randomBytes(64 * 1024 * 1024, 9)); });
	BOOST_TEST(waitFor([&] {
		int queued = 0;
		::ioctl(session.backend.impl()->sockfd(), FIONREAD, &queued);
		return queued > 16 * 1024;
	}, 10s));
	resetClose(session.backend);
	Proxy::RelayResult result = session.finish();
	BOOST_TEST(toString(result.end) == "upstream error");
	BOOST_TEST(!sender.get());
	BOOST_TEST(pPool->usage().inUse == 0u);
	checkNoLeak(session);
}

BOOST_DATA_TEST_CASE_F(Fixture, the_stop_signal_ends_a_busy_session, boost::unit_test::data::make(MODES), mode)
{
	int stop[2];
	BOOST_TEST_REQUIRE(::pipe(stop) == 0);
	{
		Session session(front, back, pool(mode), 30s, stop[0]);
		auto sender = std::async(std::launch::async, [&] { return sendAll(session.client, randomBytes(64 * 1024 * 1024, 9)); });
		BOOST_TEST(waitFor([&] {
			char buffer[65536];
			return ::recv(session.backend.impl()->sockfd(), buffer, sizeof buffer, MSG_DONTWAIT) > 0;
		}, 10s));
		BOOST_TEST_REQUIRE(::write(stop[1], "x", 1) == 1);
		Proxy::RelayResult result = session.finish();
		BOOST_TEST(toString(result.end) == "stopped");
		BOOST_TEST(!sender.get()); // the relay's sockets are closed: the client's sends fail
	}
	::close(stop[0]);
	::close(stop[1]);
	checkNoLeak();
}

BOOST_AUTO_TEST_CASE(a_pipe_left_holding_bytes_is_closed_not_reused)
{
	// The backend never reads: with splice the relay's pipe fills and stays full until the idle
	// timeout ends the session. That pipe must not go back to the pool.
	std::string data = randomBytes(64 * 1024 * 1024, 10); // made first: it takes longer than the timeout
	Session session(front, back, pool(SpliceMode::ALWAYS), 500ms);
	auto sender = std::async(std::launch::async, [&] {
		session.client.setSendTimeout(Poco::Timespan(5, 0));
		return sendAll(session.client, data);
	});
	Proxy::RelayResult result = session.finish();
	BOOST_TEST(toString(result.end) == "idle timeout");
	BOOST_TEST(result.spliced == result.clientToUpstream); // every byte written went through a pipe
	BOOST_TEST(!sender.get());
	BOOST_TEST(pPool->usage().inUse == 0u);
	BOOST_TEST(pPool->usage().idle == 0u); // the full pipe was closed, not kept
	checkNoLeak(session);
}

BOOST_AUTO_TEST_CASE(with_no_pipe_to_spare_every_session_copies_intact_and_is_counted)
{
	Proxy::SpliceOptions splice = pool(SpliceMode::ALWAYS, 0);
	std::vector<std::future<bool>> intact;
	for (int i = 0; i < 4; ++i)
		intact.push_back(std::async(std::launch::async, [&, i] {
			Session session(front, back, splice);
			bool ok = exchange(session, randomBytes(1024 * 1024, static_cast<unsigned>(20 + i)),
				randomBytes(1024 * 1024, static_cast<unsigned>(30 + i)));
			Proxy::RelayResult result = session.result.get();
			return ok && result.spliced == 0 && result.end == Proxy::RelayEnd::COMPLETED;
		}));
	for (auto& ok : intact)
		BOOST_TEST(ok.get());
	BOOST_TEST(fallbacks >= 8u); // each direction asked at least once
	checkNoLeak();
}

BOOST_AUTO_TEST_CASE(a_session_copies_while_the_only_pipe_is_taken_and_splices_once_it_is_free)
{
	Proxy::SpliceOptions splice = pool(SpliceMode::ALWAYS, 1);
	Proxy::Pipe taken = pPool->acquire();
	BOOST_TEST_REQUIRE(taken.valid());
	std::string up = randomBytes(2 * 1024 * 1024, 40), down = randomBytes(2 * 1024 * 1024, 41);
	{
		Session session(front, back, splice);
		BOOST_TEST(exchange(session, up, down));
		Proxy::RelayResult result = session.finish();
		BOOST_TEST(toString(result.end) == "completed");
		BOOST_TEST(result.spliced == 0u);
		BOOST_TEST(fallbacks >= 2u);
	}
	pPool->release(taken);
	{
		Session session(front, back, splice);
		BOOST_TEST(exchange(session, up, down));
		Proxy::RelayResult result = session.finish();
		BOOST_TEST(toString(result.end) == "completed");
		BOOST_TEST(result.spliced > 0u); // the two directions share the one pipe, in turn
	}
	BOOST_TEST(pPool->usage().idle == 1u);
	checkNoLeak();
}

BOOST_AUTO_TEST_CASE(concurrent_sessions_share_a_single_pipe_intact)
{
	Proxy::SpliceOptions splice = pool(SpliceMode::ALWAYS, 1);
	std::vector<std::future<std::uint64_t>> spliced;
	std::atomic<int> broken{0};
	for (int i = 0; i < 6; ++i)
		spliced.push_back(std::async(std::launch::async, [&, i] {
			Session session(front, back, splice);
			bool ok = exchange(session, randomBytes(4 * 1024 * 1024, static_cast<unsigned>(50 + i)),
				randomBytes(4 * 1024 * 1024, static_cast<unsigned>(60 + i)));
			Proxy::RelayResult result = session.result.get();
			broken += !ok || result.end != Proxy::RelayEnd::COMPLETED;
			return result.spliced;
		}));
	std::uint64_t total = 0;
	for (auto& bytes : spliced)
		total += bytes.get();
	BOOST_TEST(broken == 0);
	BOOST_TEST_MESSAGE(total << " of " << 6 * 8 * 1024 * 1024 << " bytes spliced, " << fallbacks << " fallbacks");
	BOOST_TEST(total > 0u);
	BOOST_TEST(pPool->usage().idle <= 1u);
	checkNoLeak();
}

BOOST_AUTO_TEST_CASE(auto_mode_copies_small_messages_and_takes_no_pipe)
{
	Session session(front, back, pool(SpliceMode::AUTO));
	for (int i = 0; i < 20; ++i)
	{
		std::string message = "request " + std::to_string(i) + "\n";
		BOOST_TEST_REQUIRE(sendAll(session.client, message));
		std::string got(message.size(), '\0');
		BOOST_TEST_REQUIRE(session.backend.receiveBytes(&got[0], static_cast<int>(got.size()), MSG_WAITALL) == static_cast<int>(got.size()));
		BOOST_TEST(got == message);
	}
	session.client.shutdownSend();
	session.backend.shutdownSend();
	Proxy::RelayResult result = session.finish();
	BOOST_TEST(toString(result.end) == "completed");
	BOOST_TEST(result.spliced == 0u);
	BOOST_TEST(pPool->usage().idle == 0u); // no pipe was ever made
	checkNoLeak(session);
}

BOOST_AUTO_TEST_CASE(auto_mode_gives_the_pipe_back_when_bulk_stops)
{
	// A bulk burst takes a pipe; once the burst is over and the session idles (still open),
	// the pipe is back in the pool.
	Session session(front, back, pool(SpliceMode::AUTO));
	std::string burst = randomBytes(16 * 1024 * 1024, 11);
	auto atBackend = std::async(std::launch::async, [&] {
		std::string got(burst.size(), '\0');
		int n = session.backend.receiveBytes(&got[0], static_cast<int>(got.size()), MSG_WAITALL);
		return n == static_cast<int>(got.size()) && got == burst;
	});
	BOOST_TEST_REQUIRE(sendAll(session.client, burst));
	BOOST_TEST(atBackend.get());
	BOOST_TEST(waitFor([&] { return pPool->usage().inUse == 0; }, 5s), pPool->usage().inUse << " pipes in use");
	BOOST_TEST(pPool->usage().idle >= 1u); // one was made for the burst
	BOOST_TEST((session.result.wait_for(0s) == std::future_status::timeout)); // the session goes on
	session.client.shutdownSend();
	session.backend.shutdownSend();
	Proxy::RelayResult result = session.finish();
	BOOST_TEST(toString(result.end) == "completed");
	BOOST_TEST(result.spliced > 0u);
	checkNoLeak(session);
}

BOOST_AUTO_TEST_CASE(the_pool_closes_a_pipe_given_back_with_bytes_in_it)
{
	pool(SpliceMode::ALWAYS, 2);
	Proxy::Pipe full = pPool->acquire();
	Proxy::Pipe empty = pPool->acquire();
	BOOST_TEST_REQUIRE((full.valid() && empty.valid()));
	BOOST_TEST(pPool->acquire().valid() == false); // two at most
	BOOST_TEST(fallbacks == 1u);
	BOOST_TEST_REQUIRE(::write(full.writeEnd, "left over", 9) == 9);
	pPool->release(full);
	pPool->release(empty);
	BOOST_TEST(pPool->usage().inUse == 0u);
	BOOST_TEST(pPool->usage().idle == 1u);
	Proxy::Pipe reused = pPool->acquire();
	BOOST_TEST(reused.readEnd == empty.readEnd); // the clean one, kept
	char byte;
	BOOST_TEST(::read(reused.readEnd, &byte, 1) == -1); // and it is empty (EAGAIN)
	pPool->release(reused);
	checkNoLeak();
}

BOOST_AUTO_TEST_CASE(the_pipe_budget_leaves_every_session_its_descriptors)
{
	Config::Settings settings;
	settings.maxConnections = 7000;
	settings.maxQueued = 256;
	settings.poolSize = 2;
	settings.targets.resize(3);
	std::size_t pipes = Proxy::PipePool::capacityFor(20000, settings);
	BOOST_TEST(pipes > 1000u);
	BOOST_TEST(Proxy::PipePool::sessionDescriptors(settings) + 2 * pipes <= 20000u);
	settings.maxConnections = 9900; // the sessions alone need (nearly) everything: no pipes
	BOOST_TEST(Proxy::PipePool::capacityFor(20000, settings) == 0u);
	settings.maxConnections = 4;
	BOOST_TEST(Proxy::PipePool::capacityFor(20000, settings) == 8u); // two per session at most
}

// Run in a child that becomes an unprivileged user of its own (a uid nobody else has), so the
// kernel's per-user pipe accounting is real and this test's alone. Exit codes name the step.
int smallPipeChild(long pipesToFill)
{
	rlim_t descriptors = static_cast<rlim_t>(2 * pipesToFill + 256);
	rlimit limit{descriptors, descriptors};
	uid_t uid = static_cast<uid_t>(2000000000 + ::getpid() % 1000000);
	if (::setrlimit(RLIMIT_NOFILE, &limit) != 0 || ::setgid(uid) != 0 || ::setuid(uid) != 0)
		return 20; // this root cannot become another user (a container without CAP_SETUID, a user namespace)
	std::vector<int> held;
	for (long i = 0; i < pipesToFill; ++i)
	{
		int ends[2];
		if (::pipe2(ends, O_CLOEXEC) != 0)
			return 11;
		held.insert(held.end(), {ends[0], ends[1]});
	}
	std::atomic<std::uint64_t> fallbacks{0};
	Proxy::PipePool pool(4, 4, fallbacks);
	if (pool.acquire().valid())
		return 12; // a 2-page pipe was handed out
	if (fallbacks != 1 || pool.usage().inUse != 0)
		return 13;
	for (int fd : held)
		::close(fd);
	Proxy::Pipe full = pool.acquire(); // the user's pages are free again
	if (!full.valid())
		return 14;
	int bytes = ::fcntl(full.readEnd, F_GETPIPE_SZ);
	pool.release(full);
	return bytes >= 16 * ::sysconf(_SC_PAGESIZE) ? 0 : 15;
}

BOOST_AUTO_TEST_CASE(over_the_users_pipe_page_limit_a_small_new_pipe_is_closed_and_counted)
{
	// An unprivileged user whose pipes hold fs.pipe-user-pages-soft pages gets 2-page pipes;
	// the pool must not splice through them (slower than copying) and must not leak them.
	long softPages = 0;
	std::ifstream("/proc/sys/fs/pipe-user-pages-soft") >> softPages;
	if (::geteuid() != 0 || softPages <= 0)
	{
		BOOST_TEST_MESSAGE("skipped: needs root (to act as an unprivileged user) and a pipe-user-pages-soft limit");
		return;
	}
	long pipesToFill = softPages / 16 + 1; // each normal pipe counts 16 pages
	pid_t child = ::fork();
	BOOST_TEST_REQUIRE(child >= 0);
	if (child == 0)
		::_exit(smallPipeChild(pipesToFill));
	int status = 0;
	BOOST_TEST_REQUIRE(::waitpid(child, &status, 0) == child);
	BOOST_TEST_REQUIRE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 20)
	{
		BOOST_TEST_MESSAGE("skipped: cannot change to an unprivileged uid here");
		return;
	}
	// 11 pipe2, 12 small pipe used, 13 not counted, 14 no pipe after, 15 small after
	BOOST_TEST(WEXITSTATUS(status) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
