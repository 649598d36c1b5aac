#include "net/MappedAddress.h"

#include "Poco/Net/IPAddress.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>

#include <arpa/inet.h>
#include <netinet/in.h>

using ForwardOptimal::Net::MappedAddress;

BOOST_AUTO_TEST_SUITE(mapped_address_tests)

BOOST_AUTO_TEST_CASE(an_ipv4_address_and_its_mapped_form_are_one_address)
{
	MappedAddress v4(Poco::Net::IPAddress("192.0.2.1"));
	MappedAddress mapped(Poco::Net::IPAddress("::ffff:192.0.2.1"));
	BOOST_TEST((v4 == mapped));
	BOOST_TEST(v4.isV4());
	BOOST_TEST(mapped.isV4());
	BOOST_TEST(v4.toString() == "192.0.2.1");
	BOOST_TEST(mapped.toString() == "192.0.2.1");
	BOOST_TEST(MappedAddress::Hash()(v4) == MappedAddress::Hash()(mapped));
	const std::uint8_t expected[4] = {192, 0, 2, 1};
	BOOST_TEST(std::equal(expected, expected + 4, v4.v4()));
}

BOOST_AUTO_TEST_CASE(an_ipv6_address_stays_itself)
{
	MappedAddress v6(Poco::Net::IPAddress("2001:db8::7"));
	BOOST_TEST(!v6.isV4());
	BOOST_TEST(v6.toString() == "2001:db8::7");
	BOOST_TEST((v6 != MappedAddress(Poco::Net::IPAddress("2001:db8::8"))));
	BOOST_TEST(!MappedAddress(Poco::Net::IPAddress("::1")).isV4());
	BOOST_TEST(MappedAddress().toString() == "::");
}

BOOST_AUTO_TEST_CASE(reads_ipv4_and_ipv6_socket_addresses_and_nothing_else)
{
	sockaddr_in v4{};
	v4.sin_family = AF_INET;
	v4.sin_port = htons(1000);
	::inet_pton(AF_INET, "127.0.0.2", &v4.sin_addr);
	sockaddr_in6 mapped{};
	mapped.sin6_family = AF_INET6;
	mapped.sin6_port = htons(2000);
	::inet_pton(AF_INET6, "::ffff:127.0.0.2", &mapped.sin6_addr);

	auto fromV4 = MappedAddress::of(reinterpret_cast<const sockaddr*>(&v4));
	auto fromMapped = MappedAddress::of(reinterpret_cast<const sockaddr*>(&mapped));
	BOOST_TEST_REQUIRE(fromV4.has_value());
	BOOST_TEST_REQUIRE(fromMapped.has_value());
	BOOST_TEST((*fromV4 == *fromMapped)); // the ports differ: ignored
	BOOST_TEST(fromMapped->toString() == "127.0.0.2");

	sockaddr unix{};
	unix.sa_family = AF_UNIX;
	BOOST_TEST(!MappedAddress::of(&unix).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
