#include "proxy/SourceLimiter.h"

#include "Poco/Net/IPAddress.h"
#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/StreamSocket.h"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>

using ForwardOptimal::Proxy::SourceLimiter;
using Lease = SourceLimiter::Lease;

namespace {

SourceLimiter::Address address(const std::string& text)
{
	return SourceLimiter::addressOf(Poco::Net::IPAddress(text));
}

// `count` leases for `source` under `limit`, each required to be granted.
std::vector<Lease> holdLeases(SourceLimiter& limiter, const SourceLimiter::Address& source, int count, unsigned limit)
{
	std::vector<Lease> held;
	for (int i = 0; i < count; ++i)
	{
		held.push_back(limiter.acquire(source, limit));
		BOOST_TEST_REQUIRE(static_cast<bool>(held.back()), "lease " << i);
	}
	return held;
}

} // namespace

BOOST_AUTO_TEST_SUITE(source_limiter_tests)

BOOST_AUTO_TEST_CASE(grants_up_to_the_limit_and_refuses_beyond)
{
	SourceLimiter limiter;
	auto a = address("192.0.2.1");
	std::vector<Lease> held = holdLeases(limiter, a, 3, 3);
	Lease fourth = limiter.acquire(a, 3);
	BOOST_TEST(!fourth);
	BOOST_TEST(limiter.sessions(a) == 3u); // a refusal counts nothing
}

BOOST_AUTO_TEST_CASE(a_lease_releases_its_place_when_it_ends)
{
	SourceLimiter limiter;
	auto a = address("192.0.2.1");
	{
		Lease first = limiter.acquire(a, 1);
		BOOST_TEST(static_cast<bool>(first));
		BOOST_TEST(!limiter.acquire(a, 1));
	}
	BOOST_TEST(limiter.sessions(a) == 0u);
	BOOST_TEST(limiter.sources() == 0u); // no entry is kept for an address without sessions
	BOOST_TEST(static_cast<bool>(limiter.acquire(a, 1)));
}

BOOST_AUTO_TEST_CASE(moving_a_lease_moves_its_place_and_never_releases_it_twice)
{
	SourceLimiter limiter;
	auto a = address("192.0.2.1");
	Lease first = limiter.acquire(a, 2);
	Lease moved(std::move(first));
	BOOST_TEST(limiter.sessions(a) == 1u);
	Lease assigned = limiter.acquire(a, 2);
	BOOST_TEST(limiter.sessions(a) == 2u);
	assigned = std::move(moved); // releases the one `assigned` held, takes over the other
	BOOST_TEST(limiter.sessions(a) == 1u);
	assigned = Lease();
	BOOST_TEST(limiter.sessions(a) == 0u);
}

BOOST_AUTO_TEST_CASE(zero_means_no_limit_and_counts_nothing)
{
	SourceLimiter limiter;
	auto a = address("192.0.2.1");
	std::vector<Lease> held = holdLeases(limiter, a, 1000, 0);
	BOOST_TEST(limiter.sources() == 0u);
}

BOOST_AUTO_TEST_CASE(each_address_has_its_own_count)
{
	SourceLimiter limiter;
	Lease a = limiter.acquire(address("127.0.0.2"), 1);
	Lease b = limiter.acquire(address("127.0.0.3"), 1);
	Lease c = limiter.acquire(address("::1"), 1);
	BOOST_TEST((a && b && c));
	BOOST_TEST(!limiter.acquire(address("127.0.0.2"), 1));
	BOOST_TEST(limiter.sources() == 3u);
}

BOOST_AUTO_TEST_CASE(an_ipv4_mapped_ipv6_client_counts_as_its_ipv4_address)
{
	SourceLimiter limiter;
	sockaddr_in v4{};
	v4.sin_family = AF_INET;
	v4.sin_port = htons(1000);
	::inet_pton(AF_INET, "127.0.0.2", &v4.sin_addr);
	sockaddr_in6 mapped{};
	mapped.sin6_family = AF_INET6;
	mapped.sin6_port = htons(2000);
	::inet_pton(AF_INET6, "::ffff:127.0.0.2", &mapped.sin6_addr);

	auto fromV4 = SourceLimiter::addressOf(reinterpret_cast<const sockaddr*>(&v4));
	auto fromMapped = SourceLimiter::addressOf(reinterpret_cast<const sockaddr*>(&mapped));
	BOOST_TEST_REQUIRE(fromV4.has_value());
	BOOST_TEST_REQUIRE(fromMapped.has_value());
	BOOST_TEST((*fromV4 == *fromMapped));
	BOOST_TEST((address("::ffff:127.0.0.2") == address("127.0.0.2")));
	BOOST_TEST(SourceLimiter::toString(*fromMapped) == "127.0.0.2");
	BOOST_TEST(SourceLimiter::toString(address("2001:db8::7")) == "2001:db8::7");

	Lease one = limiter.acquire(*fromV4, 1);
	BOOST_TEST(static_cast<bool>(one));
	BOOST_TEST(!limiter.acquire(*fromMapped, 1));

	sockaddr unix{};
	unix.sa_family = AF_UNIX;
	BOOST_TEST(!SourceLimiter::addressOf(&unix).has_value());
}

BOOST_AUTO_TEST_CASE(counts_the_peer_of_a_connected_socket)
{
	SourceLimiter limiter;
	Poco::Net::ServerSocket listener(Poco::Net::SocketAddress("127.0.0.1", 0));
	Poco::Net::StreamSocket client(Poco::Net::SocketAddress::IPv4);
	client.impl()->bind(Poco::Net::SocketAddress("127.0.0.2", 0), false);
	client.connect(listener.address());
	Poco::Net::StreamSocket accepted = listener.acceptConnection();

	Lease first = limiter.acquire(accepted.impl()->sockfd(), 1);
	BOOST_TEST(static_cast<bool>(first));
	BOOST_TEST(limiter.sessions(address("127.0.0.2")) == 1u);
	BOOST_TEST(!limiter.acquire(accepted.impl()->sockfd(), 1));

	// No peer (never connected): granted, and nothing counted.
	Poco::Net::StreamSocket unconnected(Poco::Net::SocketAddress::IPv4);
	Lease loose = limiter.acquire(unconnected.impl()->sockfd(), 1);
	BOOST_TEST(static_cast<bool>(loose));
	BOOST_TEST(limiter.sources() == 1u);
}

BOOST_AUTO_TEST_CASE(concurrent_sessions_never_exceed_the_limit_and_all_are_released)
{
	SourceLimiter limiter;
	constexpr unsigned LIMIT = 5;
	const std::vector<std::string> sources = {"10.0.0.1", "10.0.0.2", "2001:db8::1"};
	std::vector<std::atomic<int>> inside(sources.size());
	std::atomic<int> worst{0};
	std::atomic<int> granted{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < 8; ++t)
		threads.emplace_back([&, t] {
			for (int i = 0; i < 20000; ++i)
			{
				std::size_t which = static_cast<std::size_t>(t + i) % sources.size();
				Lease lease = limiter.acquire(address(sources[which]), LIMIT);
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
	BOOST_TEST(limiter.sources() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
