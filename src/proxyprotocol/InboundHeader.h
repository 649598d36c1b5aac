#pragma once

#include "proxyprotocol/ProxyHeader.h"

#include "Poco/Net/SocketAddress.h"

#include <cstddef>
#include <string>
#include <vector>

namespace ForwardOptimal {
namespace ProxyProtocol {

/// Which incoming header versions a listener accepts (`acceptProxyProtocol`).
enum class Accept
{
	V1,   /// "v1": text only
	V2,   /// "v2": binary only
	ANY   /// "any": either, told apart by the first byte ('P' or '\r')
};

/// A PROXY header received from a trusted balancer, as InboundParser::parse decodes it.
struct InboundHeader
{
	enum class Command
	{
		PROXY,    /// a relayed connection: source and destination are the original client's
		LOCAL,    /// v2 LOCAL: the balancer's own connection (a health check)
		UNKNOWN   /// v1 "PROXY UNKNOWN" or v2 PROXY with family UNSPEC: the spec says to use the
		          /// connection's own endpoints
	};

	int version = 0;                       /// 1 or 2
	Command command = Command::UNKNOWN;
	Poco::Net::SocketAddress source;       /// PROXY only
	Poco::Net::SocketAddress destination;  /// PROXY only
	std::vector<Tlv> tlvs;                 /// v2: the TLVs after the addresses, in order (CRC32C
	                                       /// checked, NOOP dropped)
	std::size_t length = 0;                /// bytes the header takes on the wire
};

/// The outcome of parsing the first bytes of a connection.
struct InboundParse
{
	enum class Status
	{
		COMPLETE,    /// `header` holds a valid header of `header.length` bytes
		INCOMPLETE,  /// a valid start: wait until `needed` bytes are there and parse again
		MISSING,     /// the bytes do not start with an accepted signature: no header at all
		INVALID      /// a header that breaks the spec: `reason` says how
	};

	Status status = Status::INCOMPLETE;
	std::size_t needed = 0;
	std::string reason;
	InboundHeader header;
};

/// The strict PROXY header decoder, written from HAProxy's doc/proxy-protocol.txt. Pure: bytes
/// in, a parsed header or a reason out; it never looks past the header's own bytes, so the
/// caller can peek, parse and then read exactly `header.length` bytes. Thread-safe.
///  - v1: "PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n" or "PROXY UNKNOWN...\r\n", at most
///    107 bytes, single spaces, no NUL or other control bytes, addresses in canonical text
///    (what inet_ntop writes), ports 0-65535 without leading zeros.
///  - v2: the 12-byte signature, version 2, command LOCAL or PROXY, family UNSPEC/TCP4/TCP6
///    (UDP and UNIX are refused: this is a TCP proxy), at most 536 bytes in all, TLVs that fit
///    exactly, UNIQUE_ID at most 128 bytes, a CRC32C TLV that matches.
class InboundParser
{
public:
	static constexpr std::size_t V1_MAX = 107;   /// the spec's worst case, CRLF included
	static constexpr std::size_t MAX = 536;      /// the longest header read (spec: one minimal segment)

	static InboundParse parse(const void* pData, std::size_t size, Accept accept);
};

} } // namespace ForwardOptimal::ProxyProtocol
