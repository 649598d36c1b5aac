#include "config/Endpoint.h"

#include "Poco/Exception.h"

#include <boost/test/unit_test.hpp>

using ForwardOptimal::Config::Endpoint;
using Kind = Endpoint::HostKind;

namespace {

// The reason text of a rejected address, so a case can check it names the problem.
std::string rejection(const std::string& text, bool listen)
{
	try
	{
		listen ? Endpoint::parseListen(text) : Endpoint::parseTarget(text);
	}
	catch (const Poco::InvalidArgumentException& error)
	{
		return error.message();
	}
	BOOST_FAIL("'" << text << "' was accepted");
	return std::string();
}

} // namespace

BOOST_AUTO_TEST_SUITE(endpoint_tests)

BOOST_AUTO_TEST_CASE(parses_ipv4_target)
{
	Endpoint e = Endpoint::parseTarget("111.2.3.114:14");
	BOOST_TEST(e.host() == "111.2.3.114");
	BOOST_TEST(e.port() == 14);
	BOOST_TEST((e.kind() == Kind::IPV4));
	BOOST_TEST(e.toString() == "111.2.3.114:14");
}

BOOST_AUTO_TEST_CASE(parses_bracketed_ipv6_target_in_canonical_form)
{
	Endpoint e = Endpoint::parseTarget("[0:0::1]:22");
	BOOST_TEST(e.host() == "::1");
	BOOST_TEST(e.port() == 22);
	BOOST_TEST((e.kind() == Kind::IPV6));
	BOOST_TEST(e.toString() == "[::1]:22");
}

BOOST_AUTO_TEST_CASE(parses_dns_name_target)
{
	Endpoint e = Endpoint::parseTarget("relay-1.example.net:443");
	BOOST_TEST(e.host() == "relay-1.example.net");
	BOOST_TEST((e.kind() == Kind::NAME));
	BOOST_TEST(Endpoint::parseTarget("localhost:22").host() == "localhost");
}

BOOST_AUTO_TEST_CASE(accepts_port_bounds)
{
	BOOST_TEST(Endpoint::parseTarget("198.18.0.1:1").port() == 1);
	BOOST_TEST(Endpoint::parseTarget("198.18.0.1:65535").port() == 65535);
}

BOOST_AUTO_TEST_CASE(listen_forms)
{
	BOOST_TEST((Endpoint::parseListen(":8080").kind() == Kind::ANY));
	BOOST_TEST(Endpoint::parseListen(":8080").toString() == ":8080");
	BOOST_TEST(Endpoint::parseListen("0.0.0.0:8080").host() == "0.0.0.0");
	BOOST_TEST(Endpoint::parseListen("127.0.0.1:8080").port() == 8080);
	BOOST_TEST(Endpoint::parseListen("[::]:8080").host() == "::");
	BOOST_TEST(Endpoint::parseListen("[::1]:8080").toString() == "[::1]:8080");
	BOOST_TEST(Endpoint::parseListen("127.0.0.1:0").port() == 0);
}

BOOST_AUTO_TEST_CASE(rejects_port_problems)
{
	BOOST_TEST(rejection("198.18.0.1:0", false).find("out of range") != std::string::npos);
	BOOST_TEST(rejection("198.18.0.1:65536", false).find("out of range") != std::string::npos);
	BOOST_TEST(rejection("198.18.0.1:123456", false).find("out of range") != std::string::npos);
	BOOST_TEST(rejection("198.18.0.1:ssh", false).find("not a number") != std::string::npos);
	BOOST_TEST(rejection("198.18.0.1:-1", false).find("not a number") != std::string::npos);
	BOOST_TEST(rejection("198.18.0.1:", false).find("port is missing") != std::string::npos);
	BOOST_TEST(rejection("198.18.0.1", false).find("port is missing") != std::string::npos);
	BOOST_TEST(rejection("[::1]", false).find("expected ':port'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(rejects_host_problems)
{
	BOOST_TEST(rejection(":22", false).find("host is missing") != std::string::npos);
	BOOST_TEST(rejection("", false).find("empty") != std::string::npos);
	BOOST_TEST(rejection("::1:22", false).find("brackets") != std::string::npos);
	BOOST_TEST(rejection("[::1:22", false).find("missing ']'") != std::string::npos);
	BOOST_TEST(rejection("[1.2.3.4]:22", false).find("not an IPv6 address") != std::string::npos);
	BOOST_TEST(rejection("[]:22", false).find("not an IPv6 address") != std::string::npos);
	BOOST_TEST(rejection("999.1.1.1:22", false).find("not an IPv4 address") != std::string::npos);
	BOOST_TEST(rejection("1.2.3:22", false).find("not an IPv4 address") != std::string::npos);
	BOOST_TEST(rejection("010.0.0.1:22", false).find("not an IPv4 address") != std::string::npos);
	BOOST_TEST(rejection("bad_host!:22", false).find("not a valid host name") != std::string::npos);
	BOOST_TEST(rejection("-lead.example:22", false).find("not a valid host name") != std::string::npos);
	BOOST_TEST(rejection("a..b:22", false).find("not a valid host name") != std::string::npos);
	BOOST_TEST(rejection(" 198.18.0.1:22", false).find("spaces") != std::string::npos);
	BOOST_TEST(rejection(std::string(64, 'a') + ".example:22", false).find("not a valid host name") != std::string::npos);
}

// Found by tests/fuzz/endpoint_fuzz.cpp: inet_pton stopped at the NUL and accepted "::1".
BOOST_AUTO_TEST_CASE(rejects_a_nul_byte_inside_the_address)
{
	const std::string nulInLiteral("[::1\0x]:22", 10);
	BOOST_TEST(rejection(nulInLiteral, false).find("NUL byte") != std::string::npos);
	BOOST_TEST(rejection(nulInLiteral, true).find("NUL byte") != std::string::npos);
	BOOST_TEST(rejection(std::string("198.18.0.1\0:22", 11), false).find("NUL byte") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(rejection_quotes_the_input)
{
	BOOST_TEST(rejection("198.18.0.1:99999", true).find("'198.18.0.1:99999'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(equality_ignores_name_case_and_ipv6_spelling)
{
	BOOST_TEST((Endpoint::parseTarget("Relay.Example:22") == Endpoint::parseTarget("relay.example:22")));
	BOOST_TEST((Endpoint::parseTarget("[::0001]:22") == Endpoint::parseTarget("[::1]:22")));
	BOOST_TEST((Endpoint::parseTarget("[::1]:22") != Endpoint::parseTarget("[::1]:23")));
}

BOOST_AUTO_TEST_SUITE_END()
