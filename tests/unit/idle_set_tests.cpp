// IdleSet on real loopback connections: the peer's behaviour is real, the ages are given.
#include "net/Connect.h"
#include "pool/IdleSet.h"

#include "TestSupport.h"

#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/StreamSocket.h"

#include <boost/test/unit_test.hpp>

#include <vector>

using namespace ForwardOptimal;
using ForwardOptimal::Pool::IdleSet;
using namespace std::chrono_literals;

namespace {

const IdleSet::Clock::time_point T0 = IdleSet::Clock::now();

// A listener on loopback; connect() returns our end, the server's end is `accepted`.
struct Loopback
{
	Loopback(): listener(Poco::Net::SocketAddress("127.0.0.1", 0)) {}

	Poco::Net::StreamSocket connect()
	{
		Net::Connected connected = Net::connect(listener.address(), 2000ms);
		BOOST_REQUIRE_MESSAGE(connected, connected.text);
		accepted = listener.acceptConnection();
		kept.push_back(accepted); // the server's ends stay open until the case closes them
		return connected.socket;
	}

	static bool closedSeen(const Poco::Net::StreamSocket& socket)
	{
		return Test::waitFor([&] { return !Net::isAlive(socket.impl()->sockfd()); }, 5s);
	}

	Poco::Net::ServerSocket listener;
	Poco::Net::StreamSocket accepted;
	std::vector<Poco::Net::StreamSocket> kept;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(idle_set_tests, Loopback)

BOOST_AUTO_TEST_CASE(hands_out_a_live_socket_with_the_servers_banner_unread)
{
	IdleSet set;
	Poco::Net::StreamSocket ours = connect();
	accepted.sendBytes("SSH-2.0-Test\r\n", 14);
	BOOST_REQUIRE(Test::waitFor([&] { return ours.available() == 14; }, 5s));
	set.add(ours, T0);
	IdleSet::Discarded discarded;
	std::optional<Poco::Net::StreamSocket> handed = set.take(10s, T0 + 1s, discarded);
	BOOST_REQUIRE(handed.has_value());
	BOOST_TEST(discarded.count() == 0u);
	BOOST_TEST(set.empty());
	char buffer[32];
	BOOST_TEST(handed->receiveBytes(buffer, sizeof buffer) == 14); // nothing consumed
}

BOOST_AUTO_TEST_CASE(a_socket_closed_at_once_after_an_error_greeting_is_a_refusal_with_its_text)
{
	IdleSet set;
	Poco::Net::StreamSocket ours = connect();
	std::string greeting = "ERROR 1129 Host '127.0.0.1' is blocked because of many connection errors\n";
	accepted.sendBytes(greeting.data(), static_cast<int>(greeting.size()));
	accepted.close();
	BOOST_REQUIRE(closedSeen(ours));
	set.add(ours, T0);
	IdleSet::Discarded discarded = set.sweep(10s, T0 + 5ms);
	BOOST_TEST(discarded.refused == 1u);
	BOOST_TEST(discarded.closed == 0u); // no idle lifetime to learn from this
	BOOST_TEST(discarded.refusalText == "ERROR 1129 Host '127.0.0.1' is blocked because of many connection errors");
	BOOST_TEST(discarded.sockets.size() == 1u);
	BOOST_TEST(set.empty());
}

BOOST_AUTO_TEST_CASE(a_silent_accept_and_close_is_a_refusal_too)
{
	IdleSet set;
	Poco::Net::StreamSocket ours = connect();
	accepted.close();
	BOOST_REQUIRE(closedSeen(ours));
	set.add(ours, T0);
	IdleSet::Discarded discarded = set.sweep(10s, T0 + 1ms);
	BOOST_TEST(discarded.refused == 1u);
	BOOST_TEST(discarded.refusalText.empty());
}

BOOST_AUTO_TEST_CASE(a_socket_closed_after_a_silence_is_an_idle_closure_with_its_age)
{
	IdleSet set;
	Poco::Net::StreamSocket ours = connect();
	accepted.sendBytes("timeout, bye\n", 13); // a parting message does not make it a refusal
	accepted.close();
	BOOST_REQUIRE(closedSeen(ours));
	set.add(ours, T0);
	IdleSet::Discarded discarded = set.sweep(10s, T0 + 400ms);
	BOOST_TEST(discarded.closed == 1u);
	BOOST_TEST(discarded.oldestClosed.count() == 400);
	BOOST_TEST(discarded.refused == 0u);
}

BOOST_AUTO_TEST_CASE(a_socket_that_lived_past_the_refusal_age_is_settled_once_and_then_checked_at_max_idle)
{
	IdleSet set;
	Poco::Net::StreamSocket ours = connect();
	set.add(ours, T0);
	BOOST_TEST((set.nextCheck(10s) == T0 + IdleSet::REFUSAL_AGE));
	BOOST_TEST(set.hasUnsettled());
	IdleSet::Discarded first = set.sweep(10s, T0 + 300ms);
	BOOST_TEST(first.settled == 1u);
	BOOST_TEST(!set.hasUnsettled());
	BOOST_TEST(first.count() == 0u);
	BOOST_TEST((set.nextCheck(10s) == T0 + 10s));
	BOOST_TEST(set.sweep(10s, T0 + 400ms).settled == 0u);
	BOOST_TEST(set.sweep(10s, T0 + 10s).tooOld == 1u);
}

BOOST_AUTO_TEST_CASE(take_drops_the_dead_and_the_too_old_on_its_way_to_a_good_one)
{
	IdleSet set;
	set.add(connect(), T0 - 20s);            // too old
	Poco::Net::StreamSocket dead = connect();
	accepted.close();
	BOOST_REQUIRE(closedSeen(dead));
	set.add(dead, T0 - 2s);                  // closed by the peer at some age
	set.add(connect(), T0 - 1s);             // good
	IdleSet::Discarded discarded;
	BOOST_TEST(set.take(10s, T0, discarded).has_value());
	BOOST_TEST(discarded.tooOld == 1u);
	BOOST_TEST(discarded.closed == 1u);
	BOOST_TEST(discarded.oldestClosed.count() == 2000);
	BOOST_TEST(discarded.sockets.size() == 2u);
	BOOST_TEST(set.empty());
	BOOST_TEST(!set.take(10s, T0, discarded).has_value());
}

BOOST_AUTO_TEST_CASE(clear_returns_every_socket_to_close)
{
	IdleSet set;
	set.add(connect(), T0);
	set.add(connect(), T0);
	BOOST_TEST(set.descriptors().size() == 2u);
	IdleSet::Discarded discarded = set.clear();
	BOOST_TEST(discarded.sockets.size() == 2u);
	BOOST_TEST(discarded.tooOld == 2u);
	BOOST_TEST(set.empty());
	BOOST_TEST(!set.nextCheck(10s).has_value());
}

BOOST_AUTO_TEST_CASE(quoted_server_text_is_printable_and_short)
{
	Poco::Net::StreamSocket ours = connect();
	std::string packet("\x4b\x00\x00\x00\xff\x69\x04Host 'h' is blocked", 27);
	packet += std::string(300, 'x');
	accepted.sendBytes(packet.data(), static_cast<int>(packet.size()));
	BOOST_REQUIRE(Test::waitFor([&] { return ours.available() == static_cast<int>(packet.size()); }, 5s));
	std::string text = Net::peekText(ours.impl()->sockfd());
	BOOST_TEST(text.rfind("K\\x00\\x00\\x00\\xffi\\x04Host 'h' is blocked", 0) == 0u, text);
	BOOST_TEST(text.size() == 120u);
	BOOST_TEST(ours.available() == static_cast<int>(packet.size())); // peeked, not read
}

BOOST_AUTO_TEST_SUITE_END()
