#pragma once

#include "Poco/Net/SocketAddress.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ForwardOptimal {
namespace ProxyProtocol {

/// PROXY v2 TLV types (doc/proxy-protocol.txt, 2.2.1-2.2.7).
namespace TlvType {
constexpr std::uint8_t ALPN = 0x01;
constexpr std::uint8_t AUTHORITY = 0x02;
constexpr std::uint8_t CRC32C = 0x03;
constexpr std::uint8_t NOOP = 0x04;
constexpr std::uint8_t UNIQUE_ID = 0x05;
constexpr std::uint8_t SSL = 0x20;
constexpr std::uint8_t NETNS = 0x30;
}

/// One v2 TLV: a type and its value (at most 65535 bytes).
struct Tlv
{
	std::uint8_t type = 0;
	std::string value;

	bool operator==(const Tlv& other) const { return type == other.type && value == other.value; }
};

/// PROXY protocol header encoders, byte-exact with HAProxy's doc/proxy-protocol.txt.
/// Pure functions: addresses in, bytes out, no sockets. Thread-safe.
/// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, what a dual-stack listener reports for IPv4
/// clients) are sent as TCP4; if one side is IPv4 and the other IPv6, both are sent as TCP6.
class ProxyHeader
{
public:
	static std::string v1(const Poco::Net::SocketAddress& source, const Poco::Net::SocketAddress& destination);
		/// "PROXY TCP4 <src> <dst> <sport> <dport>\r\n" (or TCP6).

	static std::string v2(const Poco::Net::SocketAddress& source, const Poco::Net::SocketAddress& destination);
		/// Binary header, command PROXY (0x21), family TCP4 (0x11, 12 address bytes) or
		/// TCP6 (0x21, 36 address bytes).

	static std::string v2(const Poco::Net::SocketAddress& source, const Poco::Net::SocketAddress& destination,
		const std::vector<Tlv>& tlvs, bool crc32c, std::vector<Tlv>* pDropped = nullptr);
		/// The same with TLVs after the addresses, in the order given, and, if `crc32c`, a last
		/// CRC32C TLV over the whole header (spec 2.2.5: computed with its own value zeroed,
		/// stored in network byte order). The header never exceeds MAX_V2 bytes: a TLV that
		/// would not fit is left out and appended to *pDropped (the caller says so in its log).

	static std::uint32_t crc32c(const void* pData, std::size_t size);
		/// CRC-32C (Castagnoli, reflected, as iSCSI/SCTP): crc32c("123456789") = 0xE3069283.

	static constexpr std::size_t MAX_V2 = 536;
		/// The largest header sent or read: one minimal TCP segment, as the spec recommends.

	static std::string v2Local();
		/// Binary header with the LOCAL command (0x20) and no address (family UNSPEC, length 0):
		/// what a health check sends, so the receiver treats the connection as its own.

	static const std::string V2_SIGNATURE;
		/// The 12-byte v2 signature \r\n\r\n\0\r\nQUIT\n.
};

} } // namespace ForwardOptimal::ProxyProtocol
