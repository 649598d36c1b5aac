#include "proxyprotocol/ProxyHeader.h"

#include "net/MappedAddress.h"

#include <array>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace ForwardOptimal {
namespace ProxyProtocol {

namespace {

using Poco::Net::SocketAddress;

constexpr unsigned char CMD_LOCAL = 0x20;
constexpr unsigned char CMD_PROXY = 0x21;
constexpr unsigned char FAMILY_UNSPEC = 0x00;
constexpr unsigned char FAMILY_TCP4 = 0x11;
constexpr unsigned char FAMILY_TCP6 = 0x21;

// The two endpoints as the header carries them: TCP4 when both addresses are IPv4 (an
// IPv4-mapped one included), else TCP6 with any IPv4 address in its mapped form.
struct Pair
{
	Pair(const SocketAddress& source, const SocketAddress& destination):
		src(source.host()),
		dst(destination.host()),
		srcPort(source.port()),
		dstPort(destination.port()),
		v4(src.isV4() && dst.isV4())
	{
	}

	const unsigned char* bytes(const Net::MappedAddress& address) const { return v4 ? address.v4() : address.bytes().data(); }
	std::size_t length() const { return v4 ? 4 : 16; }

	std::string text(const Net::MappedAddress& address) const
	{
		char buffer[INET6_ADDRSTRLEN] = {};
		inet_ntop(v4 ? AF_INET : AF_INET6, bytes(address), buffer, sizeof buffer);
		return buffer;
	}

	Net::MappedAddress src, dst;
	std::uint16_t srcPort, dstPort;
	bool v4;
};

void appendPort(std::string& out, std::uint16_t port)
{
	out += static_cast<char>(port >> 8);
	out += static_cast<char>(port & 0xff);
}

} // namespace


const std::string ProxyHeader::V2_SIGNATURE("\r\n\r\n\0\r\nQUIT\n", 12);


std::string ProxyHeader::v1(const SocketAddress& source, const SocketAddress& destination)
{
	Pair pair(source, destination);
	return std::string("PROXY ") + (pair.v4 ? "TCP4 " : "TCP6 ") + pair.text(pair.src) + " " + pair.text(pair.dst) + " "
		+ std::to_string(pair.srcPort) + " " + std::to_string(pair.dstPort) + "\r\n";
}


std::string ProxyHeader::v2(const SocketAddress& source, const SocketAddress& destination)
{
	Pair pair(source, destination);
	std::uint16_t length = static_cast<std::uint16_t>(2 * pair.length() + 4);
	std::string out = V2_SIGNATURE;
	out += static_cast<char>(CMD_PROXY);
	out += static_cast<char>(pair.v4 ? FAMILY_TCP4 : FAMILY_TCP6);
	appendPort(out, length);
	out.append(reinterpret_cast<const char*>(pair.bytes(pair.src)), pair.length());
	out.append(reinterpret_cast<const char*>(pair.bytes(pair.dst)), pair.length());
	appendPort(out, pair.srcPort);
	appendPort(out, pair.dstPort);
	return out;
}


std::string ProxyHeader::v2(const SocketAddress& source, const SocketAddress& destination,
	const std::vector<Tlv>& tlvs, bool crc32c, std::vector<Tlv>* pDropped)
{
	std::string out = v2(source, destination);
	std::size_t room = MAX_V2 - (crc32c ? 7 : 0);
	for (const Tlv& tlv : tlvs)
	{
		if (out.size() + 3 + tlv.value.size() > room || tlv.value.size() > 0xffff)
		{
			if (pDropped)
				pDropped->push_back(tlv);
			continue;
		}
		out += static_cast<char>(tlv.type);
		appendPort(out, static_cast<std::uint16_t>(tlv.value.size()));
		out += tlv.value;
	}
	std::size_t crcAt = 0;
	if (crc32c)
	{
		out += static_cast<char>(TlvType::CRC32C);
		appendPort(out, 4);
		crcAt = out.size();
		out.append(4, '\0');
	}
	std::uint16_t length = static_cast<std::uint16_t>(out.size() - 16);
	out[14] = static_cast<char>(length >> 8);
	out[15] = static_cast<char>(length & 0xff);
	if (crc32c)
	{
		std::uint32_t crc = ProxyHeader::crc32c(out.data(), out.size());
		for (int i = 0; i < 4; ++i)
			out[crcAt + static_cast<std::size_t>(i)] = static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
	}
	return out;
}


std::uint32_t ProxyHeader::crc32c(const void* pData, std::size_t size)
{
	static const auto table = [] {
		std::array<std::uint32_t, 256> entries{};
		for (std::uint32_t i = 0; i < 256; ++i)
		{
			std::uint32_t crc = i;
			for (int bit = 0; bit < 8; ++bit)
				crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
			entries[i] = crc;
		}
		return entries;
	}();
	const unsigned char* p = static_cast<const unsigned char*>(pData);
	std::uint32_t crc = 0xffffffffu;
	for (std::size_t i = 0; i < size; ++i)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffffu;
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
