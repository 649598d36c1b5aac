#include "proxyprotocol/ProxyHeader.h"

#include <boost/test/unit_test.hpp>

using ForwardOptimal::ProxyProtocol::ProxyHeader;
using Poco::Net::SocketAddress;

namespace {

std::string bytes(std::initializer_list<int> values)
{
	std::string out;
	for (int v : values)
		out += static_cast<char>(v);
	return out;
}

const std::string SIGNATURE = bytes({0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});

} // namespace

BOOST_AUTO_TEST_SUITE(proxy_header_tests)

BOOST_AUTO_TEST_CASE(v1_tcp4_matches_the_specification_example)
{
	BOOST_TEST(ProxyHeader::v1(SocketAddress("192.168.0.1", 56324), SocketAddress("192.168.0.11", 443))
		== "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n");
}

BOOST_AUTO_TEST_CASE(v1_tcp6_uses_compressed_addresses)
{
	BOOST_TEST(ProxyHeader::v1(SocketAddress("2001:db8::1", 1), SocketAddress("::1", 65535))
		== "PROXY TCP6 2001:db8::1 ::1 1 65535\r\n");
}

BOOST_AUTO_TEST_CASE(v1_sends_ipv4_mapped_clients_as_tcp4)
{
	BOOST_TEST(ProxyHeader::v1(SocketAddress("::ffff:198.18.2.3", 4000), SocketAddress("::ffff:198.18.9.9", 8080))
		== "PROXY TCP4 198.18.2.3 198.18.9.9 4000 8080\r\n");
}

BOOST_AUTO_TEST_CASE(v1_mixed_families_are_sent_as_tcp6)
{
	BOOST_TEST(ProxyHeader::v1(SocketAddress("198.18.2.3", 4000), SocketAddress("2001:db8::2", 80))
		== "PROXY TCP6 ::ffff:198.18.2.3 2001:db8::2 4000 80\r\n");
}

BOOST_AUTO_TEST_CASE(v2_tcp4_is_byte_exact)
{
	std::string expected = SIGNATURE + bytes({0x21, 0x11, 0x00, 0x0C,
		192, 168, 0, 1,  192, 168, 0, 11,  0xDC, 0x04,  0x01, 0xBB});
	BOOST_TEST(ProxyHeader::v2(SocketAddress("192.168.0.1", 56324), SocketAddress("192.168.0.11", 443)) == expected);
}

BOOST_AUTO_TEST_CASE(v2_tcp6_is_byte_exact)
{
	std::string expected = SIGNATURE + bytes({0x21, 0x21, 0x00, 0x24,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
		0x00, 0x50, 0x1F, 0x90});
	BOOST_TEST(ProxyHeader::v2(SocketAddress("2001:db8::1", 80), SocketAddress("::1", 8080)) == expected);
}

BOOST_AUTO_TEST_CASE(v2_sends_ipv4_mapped_clients_as_tcp4)
{
	std::string header = ProxyHeader::v2(SocketAddress("::ffff:127.0.0.1", 1), SocketAddress("::ffff:127.0.0.2", 2));
	BOOST_TEST(header.size() == 28u);
	BOOST_TEST(header[13] == '\x11');
	BOOST_TEST(header.substr(16, 4) == bytes({127, 0, 0, 1}));
}

BOOST_AUTO_TEST_CASE(v2_local_has_no_address)
{
	BOOST_TEST(ProxyHeader::v2Local() == SIGNATURE + bytes({0x20, 0x00, 0x00, 0x00}));
}

BOOST_AUTO_TEST_SUITE_END()
