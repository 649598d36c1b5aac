#include "config/Endpoint.h"

#include "Poco/Exception.h"
#include "Poco/String.h"

#include <arpa/inet.h>

#include <cctype>

namespace ForwardOptimal {
namespace Config {

namespace {

[[noreturn]] void fail(const std::string& text, const std::string& why)
{
	throw Poco::InvalidArgumentException("'" + text + "' is not a valid host:port (" + why + ")");
}

std::uint16_t parsePort(const std::string& text, const std::string& portText, bool allowZero)
{
	if (portText.empty())
		fail(text, "the port is missing");
	if (portText.size() > 5)
		fail(text, "port '" + portText + "' is out of range 1-65535");
	unsigned value = 0;
	for (char c : portText)
	{
		if (!std::isdigit(static_cast<unsigned char>(c)))
			fail(text, "port '" + portText + "' is not a number");
		value = value * 10 + static_cast<unsigned>(c - '0');
	}
	if ((value == 0 && !allowZero) || value > 65535)
		fail(text, "port '" + portText + "' is out of range 1-65535");
	return static_cast<std::uint16_t>(value);
}

bool looksNumeric(const std::string& host)
{
	for (char c : host)
		if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.')
			return false;
	return true;
}

// RFC 1123 host names: labels of letters, digits and hyphens (underscores are tolerated, as
// resolvers do), 1-63 characters, not starting or ending with a hyphen, 253 characters in all.
bool isValidHostName(const std::string& host)
{
	if (host.empty() || host.size() > 253)
		return false;
	std::size_t labelStart = 0;
	for (std::size_t i = 0; i <= host.size(); ++i)
	{
		if (i == host.size() || host[i] == '.')
		{
			std::size_t length = i - labelStart;
			if (length == 0)
				return i == host.size() && i > 0; // a single trailing dot is fully qualified
			if (length > 63 || host[labelStart] == '-' || host[i - 1] == '-')
				return false;
			labelStart = i + 1;
			continue;
		}
		char c = host[i];
		if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
			return false;
	}
	return true;
}

// The canonical text of the IPv6 address `literal` (written in brackets in `text`).
std::string canonicalIpv6(const std::string& text, const std::string& literal)
{
	in6_addr address;
	char canonical[INET6_ADDRSTRLEN];
	if (inet_pton(AF_INET6, literal.c_str(), &address) != 1
		|| !inet_ntop(AF_INET6, &address, canonical, sizeof canonical))
		fail(text, "'" + literal + "' is not an IPv6 address");
	return canonical;
}

void checkIpv4(const std::string& text, const std::string& host)
{
	// inet_pton: exactly four decimal parts, each 0-255; no inet_aton shorthand ("10.1")
	// and no octal ("010.0.0.1"), which would silently mean another address.
	in_addr address;
	if (inet_pton(AF_INET, host.c_str(), &address) != 1)
		fail(text, "'" + host + "' is not an IPv4 address");
}

} // namespace


Endpoint::Endpoint(std::string host, std::uint16_t port, HostKind kind):
	_host(std::move(host)),
	_port(port),
	_kind(kind)
{
}


Endpoint Endpoint::parseTarget(const std::string& text)
{
	return parse(text, false);
}


Endpoint Endpoint::parseListen(const std::string& text)
{
	return parse(text, true);
}


Endpoint Endpoint::parse(const std::string& text, bool forListen)
{
	if (text.empty())
		fail(text, "it is empty");
	if (text != Poco::trim(text))
		fail(text, "it has leading or trailing spaces");
	if (text.find('\0') != std::string::npos)
		fail(text, "it contains a NUL byte"); // inet_pton would stop there and accept "[::1\0x]:22"

	if (text[0] == '[')
	{
		std::size_t close = text.find(']');
		if (close == std::string::npos)
			fail(text, "missing ']' after the IPv6 address");
		if (close + 1 >= text.size() || text[close + 1] != ':')
			fail(text, "expected ':port' after ']'");
		std::string literal = text.substr(1, close - 1);
		std::uint16_t port = parsePort(text, text.substr(close + 2), forListen);
		return Endpoint(canonicalIpv6(text, literal), port, HostKind::IPV6);
	}

	std::size_t colon = text.rfind(':');
	if (colon == std::string::npos)
		fail(text, "the port is missing, expected host:port");
	std::string host = text.substr(0, colon);
	if (host.find(':') != std::string::npos)
		fail(text, "an IPv6 address must be written in brackets, as [2001:db8::1]:22");
	std::uint16_t port = parsePort(text, text.substr(colon + 1), forListen);

	if (host.empty())
	{
		if (!forListen)
			fail(text, "the host is missing");
		return Endpoint(std::string(), port, HostKind::ANY);
	}
	if (looksNumeric(host))
	{
		checkIpv4(text, host);
		return Endpoint(host, port, HostKind::IPV4);
	}
	if (!isValidHostName(host))
		fail(text, "'" + host + "' is not a valid host name");
	return Endpoint(host, port, HostKind::NAME);
}


std::string Endpoint::toString() const
{
	std::string portText = std::to_string(_port);
	switch (_kind)
	{
	case HostKind::ANY:
		return ":" + portText;
	case HostKind::IPV6:
		return "[" + _host + "]:" + portText;
	default:
		return _host + ":" + portText;
	}
}


bool Endpoint::operator==(const Endpoint& other) const
{
	return _kind == other._kind && _port == other._port && Poco::icompare(_host, other._host) == 0;
}

} } // namespace ForwardOptimal::Config
