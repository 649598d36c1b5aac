// The limiter through acquire(source address, limit), with addresses as the kernel reports the
// peers of real loopback connections from different sources (127.0.0.2, 127.0.0.3, ::1; the
// proxy takes the same sockaddr from accept()), and a count read back the way the proxy sees
// it, by what the next acquire() answers.
#include "net/MappedAddress.h"
#include "net/SourceLimiter.h"

#include "Poco/Net/IPAddress.h"
#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/StreamSocket.h"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>

using ForwardOptimal::Net::MappedAddress;
using ForwardOptimal::Net::SourceLimiter;
using Lease = SourceLimiter::Lease;

namespace {

// Listeners on 127.0.0.1 (IPv4) and [::] (dual stack: an IPv4 client shows as ::ffff:a.b.c.d),
// and the server sides of connections made to them from a chosen source address.
struct Loopback
{
	Loopback():
		v4(Poco::Net::SocketAddress("127.0.0.1", 0))
	{
		dualStack.bind6(Poco::Net::SocketAddress("::", 0), true, false, false);
		dualStack.listen(64);
	}

	// A connection from `source` to the IPv4 listener (or the dual-stack one), kept open by the
	// fixture; returns its accepted side's peer address as the proxy maps it.
	MappedAddress from(const std::string& source, bool toDualStack = false)
	{
		Poco::Net::ServerSocket& listener = toDualStack ? dualStack : v4;
		bool v6 = source.find(':') != std::string::npos;
		Poco::Net::StreamSocket client(v6 ? Poco::Net::SocketAddress::IPv6 : Poco::Net::SocketAddress::IPv4);
		client.impl()->bind(Poco::Net::SocketAddress(source, 0), false);
		std::uint16_t port = listener.address().port();
		client.connect(Poco::Net::SocketAddress(toDualStack ? (v6 ? "::1" : "127.0.0.1") : "127.0.0.1", port));
		clients.push_back(client);
		accepted.push_back(listener.acceptConnection());
		sockaddr_storage peer{};
		socklen_t length = sizeof peer;
		BOOST_TEST_REQUIRE(::getpeername(accepted.back().impl()->sockfd(), reinterpret_cast<sockaddr*>(&peer), &length) == 0);
		std::optional<MappedAddress> mapped = MappedAddress::of(reinterpret_cast<const sockaddr*>(&peer));
		BOOST_TEST_REQUIRE(mapped.has_value());
		return *mapped;
	}

	Poco::Net::ServerSocket v4;
	Poco::Net::ServerSocket dualStack;
	std::list<Poco::Net::StreamSocket> clients;
	std::list<Poco::Net::StreamSocket> accepted;
};

// How many more connections from `source` the limiter grants under `limit` (probing
// up to `limit`): `limit` minus the connections it counts now.
unsigned room(SourceLimiter& limiter, const MappedAddress& source, unsigned limit)
{
	std::vector<Lease> probes;
	for (unsigned i = 0; i < limit; ++i)
	{
		probes.push_back(limiter.acquire(source, limit));
		if (!probes.back())
			return i;
	}
	return limit;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(source_limiter_tests, Loopback)

BOOST_AUTO_TEST_CASE(grants_up_to_the_limit_and_refuses_beyond)
{
	SourceLimiter limiter;
	std::vector<Lease> held;
	for (int i = 0; i < 3; ++i)
	{
		held.push_back(limiter.acquire(from("127.0.0.2"), 3));
		BOOST_TEST(static_cast<bool>(held.back()), "connection " << i);
	}
	MappedAddress fourth = from("127.0.0.2");
	BOOST_TEST(!limiter.acquire(fourth, 3));
	BOOST_TEST(!limiter.acquire(fourth, 3)); // a refusal counts nothing: still exactly full
	held.pop_back();
	BOOST_TEST(static_cast<bool>(limiter.acquire(fourth, 3)));
}

BOOST_AUTO_TEST_CASE(a_lease_gives_its_place_back_when_it_ends)
{
	SourceLimiter limiter;
	MappedAddress source = from("127.0.0.2");
	{
		Lease first = limiter.acquire(source, 1);
		BOOST_TEST(static_cast<bool>(first));
		BOOST_TEST(!limiter.acquire(source, 1));
	}
	BOOST_TEST(room(limiter, source, 5) == 5u);
}

BOOST_AUTO_TEST_CASE(moving_a_lease_moves_its_place_and_never_gives_it_back_twice)
{
	SourceLimiter limiter;
	MappedAddress source = from("127.0.0.2");
	Lease first = limiter.acquire(source, 4);
	Lease moved(std::move(first));
	BOOST_TEST(room(limiter, source, 4) == 3u);
	Lease assigned = limiter.acquire(source, 4);
	BOOST_TEST(room(limiter, source, 4) == 2u);
	assigned = std::move(moved); // gives back the place `assigned` held, takes over the other
	BOOST_TEST(room(limiter, source, 4) == 3u);
	first = Lease(); // moved from: holds nothing, gives nothing back
	BOOST_TEST(room(limiter, source, 4) == 3u);
	assigned = Lease();
	BOOST_TEST(room(limiter, source, 4) == 4u);
}

BOOST_AUTO_TEST_CASE(zero_means_no_limit_and_counts_nothing)
{
	SourceLimiter limiter;
	MappedAddress source = from("127.0.0.2");
	std::vector<Lease> held;
	for (int i = 0; i < 1000; ++i)
		held.push_back(limiter.acquire(source, 0));
	BOOST_TEST(static_cast<bool>(held.back()));
	BOOST_TEST(room(limiter, source, 1) == 1u); // the thousand counted nothing
}

BOOST_AUTO_TEST_CASE(each_address_has_its_own_count)
{
	SourceLimiter limiter;
	Lease a = limiter.acquire(from("127.0.0.2"), 1);
	Lease b = limiter.acquire(from("127.0.0.3"), 1);
	Lease c = limiter.acquire(from("::1", true), 1);
	BOOST_TEST((a && b && c));
	BOOST_TEST(!limiter.acquire(from("127.0.0.2"), 1));
	BOOST_TEST(!limiter.acquire(from("::1", true), 1));
}

BOOST_AUTO_TEST_CASE(an_ipv4_client_of_a_dual_stack_listener_counts_as_its_ipv4_address)
{
	SourceLimiter limiter;
	MappedAddress plain = from("127.0.0.2");        // peer AF_INET 127.0.0.2
	MappedAddress mapped = from("127.0.0.2", true); // peer AF_INET6 ::ffff:127.0.0.2
	BOOST_TEST_REQUIRE(accepted.back().peerAddress().family() == Poco::Net::SocketAddress::IPv6);
	Lease one = limiter.acquire(plain, 1);
	BOOST_TEST(static_cast<bool>(one));
	BOOST_TEST(!limiter.acquire(mapped, 1));
	one = Lease();
	Lease other = limiter.acquire(mapped, 1);
	BOOST_TEST(static_cast<bool>(other));
	BOOST_TEST(!limiter.acquire(plain, 1));
}

BOOST_AUTO_TEST_CASE(an_address_from_a_proxy_header_is_counted_as_a_socket_peer_is)
{
	SourceLimiter limiter;
	MappedAddress client(Poco::Net::IPAddress("198.18.0.9"));
	Lease first = limiter.acquire(client, 2);
	Lease second = limiter.acquire(MappedAddress(Poco::Net::IPAddress("::ffff:198.18.0.9")), 2);
	BOOST_TEST(bool(first));
	BOOST_TEST(bool(second));
	BOOST_TEST(!limiter.acquire(client, 2));
	BOOST_TEST(bool(limiter.acquire(MappedAddress(Poco::Net::IPAddress("198.18.0.10")), 2)));
	second = Lease();
	BOOST_TEST(bool(limiter.acquire(client, 2)));
	BOOST_TEST(bool(limiter.acquire(client, 0))); // no limit
}

BOOST_AUTO_TEST_CASE(concurrent_connections_never_exceed_the_limit_and_all_places_come_back)
{
	SourceLimiter limiter;
	constexpr unsigned LIMIT = 5;
	const std::vector<MappedAddress> sources = {from("127.0.0.2"), from("127.0.0.3"), from("::1", true)};
	std::vector<std::atomic<int>> inside(sources.size());
	std::atomic<int> worst{0};
	std::atomic<int> granted{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < 4; ++t)
		threads.emplace_back([&, t] {
			for (int i = 0; i < 5000; ++i)
			{
				std::size_t which = static_cast<std::size_t>(t + i) % sources.size();
				Lease lease = limiter.acquire(sources[which], LIMIT);
				if (!lease)
					continue;
				++granted;
				int now = ++inside[which];
				int seen = worst;
				while (now > seen && !worst.compare_exchange_weak(seen, now))
				{
				}
				--inside[which];
			}
		});
	for (auto& thread : threads)
		thread.join();
	BOOST_TEST(worst.load() <= static_cast<int>(LIMIT));
	BOOST_TEST(granted.load() > 0);
	for (const MappedAddress& source : sources)
		BOOST_TEST(room(limiter, source, LIMIT) == LIMIT);
}

BOOST_AUTO_TEST_SUITE_END()
