// The inbound PROXY parser (InboundParser), the v2 TLV encoder and CRC32C (ProxyHeader), and
// the trustedProxies networks (Net::Cidr), against HAProxy's doc/proxy-protocol.txt.
#include "net/Cidr.h"
#include "proxyprotocol/InboundHeader.h"
#include "proxyprotocol/ProxyHeader.h"
#include "proxy/InboundProxy.h"

#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/StreamSocket.h"

#include <chrono>
#include <thread>

#include <unistd.h>

#include "Poco/Exception.h"
#include "Poco/Net/IPAddress.h"

#include <boost/test/unit_test.hpp>

using namespace ForwardOptimal::ProxyProtocol;
using ForwardOptimal::Net::Cidr;
using ForwardOptimal::Net::MappedAddress;
using Poco::Net::SocketAddress;
using Status = InboundParse::Status;

namespace {

std::string bytes(std::initializer_list<int> values)
{
	std::string out;
	for (int v : values)
		out += static_cast<char>(v);
	return out;
}

const std::string SIGNATURE = bytes({0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});

InboundParse parse(const std::string& data, Accept accept = Accept::ANY)
{
	return InboundParser::parse(data.data(), data.size(), accept);
}

// A bitwise CRC-32C, independent of the table the encoder uses.
std::uint32_t slowCrc32c(const std::string& data)
{
	std::uint32_t crc = 0xffffffffu;
	for (unsigned char c : data)
	{
		crc ^= c;
		for (int i = 0; i < 8; ++i)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

std::string be32(std::uint32_t value)
{
	return bytes({int(value >> 24), int((value >> 16) & 0xff), int((value >> 8) & 0xff), int(value & 0xff)});
}

bool isMapped(const Cidr& cidr, const char* address)
{
	return cidr.contains(MappedAddress(Poco::Net::IPAddress(address)));
}

} // namespace

BOOST_AUTO_TEST_SUITE(inbound_header_tests)

BOOST_AUTO_TEST_CASE(v1_spec_example_is_parsed_and_only_its_bytes_are_taken)
{
	std::string header = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
	InboundParse result = parse(header + "SSH-2.0-client\r\n");
	BOOST_REQUIRE((result.status == Status::COMPLETE));
	BOOST_TEST(result.header.version == 1);
	BOOST_TEST((result.header.command == InboundHeader::Command::PROXY));
	BOOST_TEST(result.header.length == header.size());
	BOOST_TEST(result.header.source.toString() == "192.168.0.1:56324");
	BOOST_TEST(result.header.destination.toString() == "192.168.0.11:443");
}

BOOST_AUTO_TEST_CASE(v1_worst_case_of_107_bytes_is_accepted_and_one_more_is_not)
{
	std::string header = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	BOOST_REQUIRE(header.size() == 104u);
	BOOST_TEST((parse(header).status == Status::COMPLETE));
	std::string unknown = "PROXY UNKNOWN " + std::string(91, 'x') + "\r\n"; // 107 bytes
	BOOST_REQUIRE(unknown.size() == 107u);
	BOOST_TEST((parse(unknown).header.command == InboundHeader::Command::UNKNOWN));
	std::string tooLong = "PROXY UNKNOWN " + std::string(92, 'x') + "\r\n";
	InboundParse result = parse(tooLong);
	BOOST_TEST((result.status == Status::INVALID));
	BOOST_TEST(result.reason.find("107") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(v1_tcp6_and_unknown)
{
	InboundParse result = parse("PROXY TCP6 2001:db8::1 ::1 1 65535\r\n");
	BOOST_REQUIRE((result.status == Status::COMPLETE));
	BOOST_TEST(result.header.source.toString() == "[2001:db8::1]:1");
	BOOST_TEST((parse("PROXY UNKNOWN\r\n").header.command == InboundHeader::Command::UNKNOWN));
}

BOOST_AUTO_TEST_CASE(v1_partial_headers_ask_for_more)
{
	BOOST_TEST((parse("PRO").status == Status::INCOMPLETE));
	BOOST_TEST(parse("PRO").needed == 6u);
	InboundParse result = parse("PROXY TCP4 1.2.3.4");
	BOOST_TEST((result.status == Status::INCOMPLETE));
	BOOST_TEST(result.needed == 19u);
	BOOST_TEST((parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r").status == Status::INCOMPLETE));
}

BOOST_AUTO_TEST_CASE(v1_strictness)
{
	const char* bad[] = {
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",          // LF without CR
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",         // CR without LF
		"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",       // double space
		"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",       // leading zero
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",    // port out of range
		"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
		"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",       // not canonical
		"PROXY TCP6 2001:DB8::1 ::1 1 2\r\n",        // not canonical (upper case)
		"PROXY TCP6 2001:db8:0:0::1 ::1 1 2\r\n",    // not canonical (uncompressed)
		"PROXY TCP4 ::1 ::1 1 2\r\n",                // family mismatch
		"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",          // a field missing
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",      // one too many
	};
	for (const char* text : bad)
		BOOST_TEST((parse(text).status == Status::INVALID), text);
	std::string nul = std::string("PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n", 33);
	BOOST_TEST((parse(nul).status == Status::INVALID));
}

BOOST_AUTO_TEST_CASE(other_bytes_are_no_header_and_versions_are_told_apart)
{
	BOOST_TEST((parse("SSH-2.0-OpenSSH_9.2\r\n").status == Status::MISSING));
	BOOST_TEST((parse("GET / HTTP/1.1\r\n").status == Status::MISSING));
	std::string v2 = ProxyHeader::v2(SocketAddress("192.0.2.1", 1), SocketAddress("198.18.0.1", 2));
	BOOST_TEST((parse(v2, Accept::V1).status == Status::MISSING));
	BOOST_TEST((parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", Accept::V2).status == Status::MISSING));
	BOOST_TEST((parse(v2, Accept::V2).status == Status::COMPLETE));
	BOOST_TEST((parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", Accept::V1).status == Status::COMPLETE));
}

BOOST_AUTO_TEST_CASE(v2_headers_of_the_encoder_come_back)
{
	InboundParse four = parse(ProxyHeader::v2(SocketAddress("192.0.2.1", 56324), SocketAddress("198.18.0.1", 443)) + "data");
	BOOST_REQUIRE((four.status == Status::COMPLETE));
	BOOST_TEST(four.header.length == 28u);
	BOOST_TEST(four.header.source.toString() == "192.0.2.1:56324");
	BOOST_TEST(four.header.destination.toString() == "198.18.0.1:443");
	InboundParse six = parse(ProxyHeader::v2(SocketAddress("2001:db8::7", 1), SocketAddress("[2001:db8::1]:22")));
	BOOST_REQUIRE((six.status == Status::COMPLETE));
	BOOST_TEST(six.header.length == 52u);
	BOOST_TEST(six.header.source.toString() == "[2001:db8::7]:1");
	InboundParse local = parse(ProxyHeader::v2Local());
	BOOST_TEST((local.header.command == InboundHeader::Command::LOCAL));
}

BOOST_AUTO_TEST_CASE(v2_partial_headers_ask_for_exactly_what_is_missing)
{
	std::string header = ProxyHeader::v2(SocketAddress("192.0.2.1", 1), SocketAddress("198.18.0.1", 2));
	BOOST_TEST(parse(header.substr(0, 5)).needed == 12u);
	BOOST_TEST(parse(header.substr(0, 15)).needed == 16u);
	BOOST_TEST(parse(header.substr(0, 16)).needed == 28u);
	BOOST_TEST((parse(header.substr(0, 27)).status == Status::INCOMPLETE));
}

BOOST_AUTO_TEST_CASE(v2_strictness)
{
	std::string good = ProxyHeader::v2(SocketAddress("192.0.2.1", 1), SocketAddress("198.18.0.1", 2));
	auto with = [&](std::size_t at, int value) { std::string copy = good; copy[at] = static_cast<char>(value); return copy; };
	BOOST_TEST((parse(with(12, 0x11)).status == Status::INVALID));  // version 1
	BOOST_TEST((parse(with(12, 0x22)).status == Status::INVALID));  // command 2
	BOOST_TEST((parse(with(13, 0x12)).status == Status::INVALID));  // UDP
	BOOST_TEST((parse(with(13, 0x31)).status == Status::INVALID));  // UNIX
	BOOST_TEST((parse(with(13, 0x41)).status == Status::INVALID));  // unknown family
	BOOST_TEST((parse(with(15, 11)).status == Status::INVALID));    // too short for TCP4 addresses
	// Longer than 536 in all.
	std::string huge = good;
	huge[14] = 0x02;
	huge[15] = 0x09;   // 521 bytes after the 16
	BOOST_TEST((parse(huge).status == Status::INVALID));
	// A TLV running past the end, and stray bytes after the TLVs.
	std::string tlv = good + bytes({0x05, 0x00, 0x09, 'a'});
	tlv[15] = static_cast<char>(12 + 4);
	BOOST_TEST((parse(tlv).status == Status::INVALID));
	std::string stray = good + bytes({0x05, 0x00});
	stray[15] = static_cast<char>(12 + 2);
	BOOST_TEST((parse(stray).status == Status::INVALID));
	// UNIQUE_ID of more than 128 bytes.
	std::string longId = ProxyHeader::v2(SocketAddress("192.0.2.1", 1), SocketAddress("198.18.0.1", 2),
		{{TlvType::UNIQUE_ID, std::string(129, 'u')}}, false);
	BOOST_TEST((parse(longId).status == Status::INVALID));
}

BOOST_AUTO_TEST_CASE(crc32c_check_value)
{
	BOOST_TEST(ProxyHeader::crc32c("123456789", 9) == 0xE3069283u);
	BOOST_TEST(ProxyHeader::crc32c("", 0) == 0u);
	BOOST_TEST(slowCrc32c("123456789") == 0xE3069283u);
}

BOOST_AUTO_TEST_CASE(v2_tlvs_are_laid_out_as_the_spec_says)
{
	std::string header = ProxyHeader::v2(SocketAddress("192.0.2.1", 56324), SocketAddress("198.18.0.1", 443),
		{{TlvType::UNIQUE_ID, "abc"}, {TlvType::AUTHORITY, "example.net"}}, true);
	std::string expected = SIGNATURE + bytes({0x21, 0x11, 0x00, 12 + 6 + 14 + 7,
		192, 0, 2, 1, 198, 18, 0, 1, 0xDC, 0x04, 0x01, 0xBB,
		0x05, 0x00, 0x03, 'a', 'b', 'c',
		0x02, 0x00, 0x0B}) + "example.net" + bytes({0x03, 0x00, 0x04});
	// The CRC is over the whole header with its own four bytes zero, in network byte order.
	expected += be32(slowCrc32c(expected + std::string(4, '\0')));
	BOOST_TEST(header == expected);
	InboundParse back = parse(header);
	BOOST_REQUIRE((back.status == Status::COMPLETE));
	BOOST_REQUIRE(back.header.tlvs.size() == 3u);
	BOOST_TEST(back.header.tlvs[0].value == "abc");
	BOOST_TEST(back.header.tlvs[1].value == "example.net");
	BOOST_TEST(int(back.header.tlvs[2].type) == int(TlvType::CRC32C));
	// One flipped bit anywhere fails the check.
	std::string flipped = header;
	flipped[20] = static_cast<char>(flipped[20] ^ 1);
	BOOST_TEST((parse(flipped).status == Status::INVALID));
	BOOST_TEST(parse(flipped).reason.find("CRC32C") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(v2_never_exceeds_536_bytes_and_reports_what_it_dropped)
{
	std::vector<Tlv> dropped;
	std::string header = ProxyHeader::v2(SocketAddress("[2001:db8::7]:1"), SocketAddress("[2001:db8::1]:22"),
		{{TlvType::UNIQUE_ID, std::string(32, 'f')}, {TlvType::SSL, std::string(600, 's')}, {TlvType::AUTHORITY, "a.example"},
			{TlvType::ALPN, std::string(430, 'p')}}, true, &dropped);
	BOOST_TEST(header.size() <= 536u);
	BOOST_REQUIRE(dropped.size() == 2u);
	BOOST_TEST(int(dropped[0].type) == int(TlvType::SSL));
	BOOST_TEST(int(dropped[1].type) == int(TlvType::ALPN));
	InboundParse back = parse(header);
	BOOST_REQUIRE((back.status == Status::COMPLETE));
	BOOST_TEST(back.header.tlvs.size() == 3u); // UNIQUE_ID, AUTHORITY, CRC32C
	BOOST_TEST(back.header.length == header.size());
}

BOOST_AUTO_TEST_CASE(cidr_networks)
{
	Cidr v4 = Cidr::parse("198.18.0.0/15");
	BOOST_TEST(v4.toString() == "198.18.0.0/15");
	BOOST_TEST(isMapped(v4, "198.19.255.255"));
	BOOST_TEST(isMapped(v4, "::ffff:198.18.0.2"));
	BOOST_TEST(!isMapped(v4, "198.20.0.1"));
	BOOST_TEST(!isMapped(v4, "2001:db8::1"));
	Cidr host = Cidr::parse("127.0.0.2");
	BOOST_TEST(host.toString() == "127.0.0.2/32");
	BOOST_TEST(isMapped(host, "127.0.0.2"));
	BOOST_TEST(!isMapped(host, "127.0.0.1"));
	Cidr v6 = Cidr::parse("2001:db8::/32");
	BOOST_TEST(isMapped(v6, "2001:db8:ffff::1"));
	BOOST_TEST(!isMapped(v6, "2001:db9::1"));
	BOOST_TEST(!isMapped(v6, "198.18.0.1"));
	BOOST_TEST(isMapped(Cidr::parse("::/0"), "198.18.0.1"));
	BOOST_TEST(isMapped(Cidr::parse("0.0.0.0/0"), "1.2.3.4"));
	BOOST_TEST(!isMapped(Cidr::parse("0.0.0.0/0"), "::1"));
	BOOST_CHECK_THROW(Cidr::parse("198.18.0.1/15"), Poco::InvalidArgumentException);
	BOOST_CHECK_THROW(Cidr::parse("198.18.0.0/33"), Poco::InvalidArgumentException);
	BOOST_CHECK_THROW(Cidr::parse("2001:db8::/129"), Poco::InvalidArgumentException);
	BOOST_CHECK_THROW(Cidr::parse("198.18.0.0/"), Poco::InvalidArgumentException);
	BOOST_CHECK_THROW(Cidr::parse("lb.example"), Poco::InvalidArgumentException);
	try
	{
		Cidr::parse("198.18.0.1/15");
	}
	catch (const Poco::InvalidArgumentException& error)
	{
		BOOST_TEST(error.message().find("did you mean 198.18.0.0/15") != std::string::npos, error.message());
	}
}

BOOST_AUTO_TEST_SUITE_END()

// InboundProxy::read on a real TCP connection: peek, wait, read exactly the header.
BOOST_AUTO_TEST_SUITE(inbound_proxy_read_tests)

using ForwardOptimal::Proxy::InboundProxy;
using ForwardOptimal::Stats::Refusal;
using namespace std::chrono_literals;

struct Pair
{
	Pair()
	{
		client.connect(listener.address());
		server = listener.acceptConnection();
	}
	void send(const std::string& bytes) { client.sendBytes(bytes.data(), static_cast<int>(bytes.size())); }
	std::string rest()
	{
		server.setReceiveTimeout(Poco::Timespan(2, 0));
		char buffer[256];
		int n = server.receiveBytes(buffer, sizeof buffer);
		return std::string(buffer, static_cast<std::size_t>(std::max(n, 0)));
	}
	Poco::Net::ServerSocket listener{SocketAddress("127.0.0.1", 0)};
	Poco::Net::StreamSocket client;
	Poco::Net::StreamSocket server;
};

BOOST_AUTO_TEST_CASE(the_client_bytes_after_the_header_stay_in_the_socket)
{
	Pair pair;
	std::string header = ProxyHeader::v2(SocketAddress("198.18.0.5", 4000), SocketAddress("198.18.0.1", 22),
		{{TlvType::AUTHORITY, "svc.example"}}, true);
	pair.send(header + "SSH-2.0-client\r\n");
	InboundProxy::Result result = InboundProxy::read(pair.server.impl()->sockfd(), Accept::ANY, 2000ms);
	BOOST_TEST(!result.refusal.has_value(), result.reason);
	BOOST_TEST(result.header.source.toString() == "198.18.0.5:4000");
	BOOST_TEST(pair.rest() == "SSH-2.0-client\r\n");
}

BOOST_AUTO_TEST_CASE(a_header_in_pieces_is_waited_for)
{
	Pair pair;
	std::thread sender([&] {
		pair.send("PROX");
		std::this_thread::sleep_for(50ms);
		pair.send("Y TCP4 198.18.0.5 198.18.0.1 4000 ");
		std::this_thread::sleep_for(50ms);
		pair.send("22\r\nhello");
	});
	InboundProxy::Result result = InboundProxy::read(pair.server.impl()->sockfd(), Accept::V1, 5000ms);
	sender.join();
	BOOST_TEST(!result.refusal.has_value(), result.reason);
	BOOST_TEST(result.header.destination.toString() == "198.18.0.1:22");
	BOOST_TEST(pair.rest() == "hello");
}

BOOST_AUTO_TEST_CASE(missing_invalid_late_cut_and_local_headers)
{
	{
		Pair pair;
		pair.send("SSH-2.0-client\r\n");
		BOOST_TEST((InboundProxy::read(pair.server.impl()->sockfd(), Accept::ANY, 2000ms).refusal == Refusal::PROXY_HEADER_MISSING));
	}
	{
		Pair pair;
		pair.send("PROXY TCP4 198.18.0.5 198.18.0.1 4000 022\r\n");
		InboundProxy::Result result = InboundProxy::read(pair.server.impl()->sockfd(), Accept::ANY, 2000ms);
		BOOST_TEST((result.refusal == Refusal::PROXY_HEADER_INVALID));
		BOOST_TEST(result.reason.find("leading zeros") != std::string::npos, result.reason);
	}
	{
		Pair pair;
		pair.send("PROXY TCP4 198");
		BOOST_TEST((InboundProxy::read(pair.server.impl()->sockfd(), Accept::ANY, 200ms).refusal == Refusal::PROXY_HEADER_TIMEOUT));
	}
	{
		Pair pair;
		pair.send("PROXY TCP4 198");
		pair.client.shutdownSend();
		InboundProxy::Result result = InboundProxy::read(pair.server.impl()->sockfd(), Accept::ANY, 5000ms);
		BOOST_TEST((result.refusal == Refusal::PROXY_HEADER_INVALID));
		BOOST_TEST(result.reason.find("closed after 14 bytes") != std::string::npos, result.reason);
	}
	{
		Pair pair;
		pair.client.shutdownSend();
		BOOST_TEST((InboundProxy::read(pair.server.impl()->sockfd(), Accept::ANY, 2000ms).refusal == Refusal::PROXY_HEADER_MISSING));
	}
	{
		Pair pair;
		pair.send("PROXY TCP4 198");
		int stop[2];
		BOOST_REQUIRE(::pipe(stop) == 0);
		BOOST_REQUIRE(::write(stop[1], "x", 1) == 1);
		InboundProxy::Result result = InboundProxy::read(pair.server.impl()->sockfd(), Accept::ANY, 60000ms, stop[0]);
		BOOST_TEST(result.stopped);
		BOOST_TEST(!result.refusal.has_value());
		::close(stop[0]);
		::close(stop[1]);
	}
	{
		Pair pair;
		pair.send(ProxyHeader::v2Local());
		BOOST_TEST((InboundProxy::read(pair.server.impl()->sockfd(), Accept::V2, 2000ms).refusal == Refusal::PROXY_LOCAL));
	}
}

BOOST_AUTO_TEST_SUITE_END()
