#include "proxyprotocol/ProxyHeader.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace ForwardOptimal {
namespace ProxyProtocol {

namespace {

using Poco::Net::IPAddress;
using Poco::Net::SocketAddress;

constexpr unsigned char CMD_LOCAL = 0x20;
constexpr unsigned char CMD_PROXY = 0x21;
constexpr unsigned char FAMILY_UNSPEC = 0x00;
constexpr unsigned char FAMILY_TCP4 = 0x11;
constexpr unsigned char FAMILY_TCP6 = 0x21;

// One endpoint reduced to what the header carries: 4 or 16 address bytes and a port.
struct Endpoint
{
	bool v4;
	unsigned char bytes[16];
	std::uint16_t port;
};

Endpoint reduce(const SocketAddress& address)
{
	Endpoint e{};
	e.port = address.port();
	const IPAddress& host = address.host();
	if (host.family() == IPAddress::IPv4)
	{
		e.v4 = true;
		std::memcpy(e.bytes, host.addr(), 4);
	}
	else
	{
		const auto* raw = static_cast<const unsigned char*>(host.addr());
		static const unsigned char MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		e.v4 = std::memcmp(raw, MAPPED, 12) == 0;
		std::memcpy(e.bytes, e.v4 ? raw + 12 : raw, e.v4 ? 4 : 16);
	}
	return e;
}

// Mixed families: carry both as IPv6, the IPv4 one as ::ffff:a.b.c.d.
void widen(Endpoint& e)
{
	if (!e.v4)
		return;
	unsigned char v4[4];
	std::memcpy(v4, e.bytes, 4);
	std::memset(e.bytes, 0, 10);
	e.bytes[10] = e.bytes[11] = 0xff;
	std::memcpy(e.bytes + 12, v4, 4);
	e.v4 = false;
}

void reducePair(const SocketAddress& source, const SocketAddress& destination, Endpoint& src, Endpoint& dst)
{
	src = reduce(source);
	dst = reduce(destination);
	if (src.v4 != dst.v4)
	{
		widen(src);
		widen(dst);
	}
}

std::string text(const Endpoint& e)
{
	char buffer[INET6_ADDRSTRLEN] = {};
	inet_ntop(e.v4 ? AF_INET : AF_INET6, e.bytes, buffer, sizeof buffer);
	return buffer;
}

void appendPort(std::string& out, std::uint16_t port)
{
	out += static_cast<char>(port >> 8);
	out += static_cast<char>(port & 0xff);
}

} // namespace


const std::string ProxyHeader::V2_SIGNATURE("\r\n\r\n\0\r\nQUIT\n", 12);


std::string ProxyHeader::v1(const SocketAddress& source, const SocketAddress& destination)
{
	Endpoint src, dst;
	reducePair(source, destination, src, dst);
	return std::string("PROXY ") + (src.v4 ? "TCP4 " : "TCP6 ") + text(src) + " " + text(dst) + " "
		+ std::to_string(src.port) + " " + std::to_string(dst.port) + "\r\n";
}


std::string ProxyHeader::v2(const SocketAddress& source, const SocketAddress& destination)
{
	Endpoint src, dst;
	reducePair(source, destination, src, dst);
	std::size_t addressLength = src.v4 ? 4 : 16;
	std::uint16_t length = static_cast<std::uint16_t>(2 * addressLength + 4);
	std::string out = V2_SIGNATURE;
	out += static_cast<char>(CMD_PROXY);
	out += static_cast<char>(src.v4 ? FAMILY_TCP4 : FAMILY_TCP6);
	appendPort(out, length);
	out.append(reinterpret_cast<const char*>(src.bytes), addressLength);
	out.append(reinterpret_cast<const char*>(dst.bytes), addressLength);
	appendPort(out, src.port);
	appendPort(out, dst.port);
	return out;
}


std::string ProxyHeader::v2Local()
{
	std::string out = V2_SIGNATURE;
	out += static_cast<char>(CMD_LOCAL);
	out += static_cast<char>(FAMILY_UNSPEC);
	appendPort(out, 0);
	return out;
}

} } // namespace ForwardOptimal::ProxyProtocol
