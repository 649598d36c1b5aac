#include "proxyprotocol/InboundHeader.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <optional>

namespace ForwardOptimal {
namespace ProxyProtocol {

namespace {

using Status = InboundParse::Status;

const std::string V1_PREFIX("PROXY ");

InboundParse result(Status status, std::string reason = std::string(), std::size_t needed = 0)
{
	InboundParse parse;
	parse.status = status;
	parse.reason = std::move(reason);
	parse.needed = needed;
	return parse;
}

// True if the `size` bytes at p are a prefix of `signature` (or the other way round).
bool startsLike(const unsigned char* p, std::size_t size, const std::string& signature)
{
	std::size_t n = std::min(size, signature.size());
	return std::memcmp(p, signature.data(), n) == 0;
}

std::vector<std::string> splitSpaces(const std::string& text)
{
	std::vector<std::string> parts;
	std::size_t start = 0;
	for (;;)
	{
		std::size_t space = text.find(' ', start);
		parts.push_back(text.substr(start, space == std::string::npos ? std::string::npos : space - start));
		if (space == std::string::npos)
			return parts;
		start = space + 1;
	}
}

bool canonicalAddress(const std::string& text, int family, Poco::Net::IPAddress& address)
{
	unsigned char bytes[16];
	if (text.empty() || inet_pton(family, text.c_str(), bytes) != 1)
		return false;
	char back[INET6_ADDRSTRLEN] = {};
	if (!inet_ntop(family, bytes, back, sizeof back) || text != back)
		return false;
	address = Poco::Net::IPAddress(bytes, family == AF_INET ? 4 : 16);
	return true;
}

bool port(const std::string& text, std::uint16_t& value)
{
	if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0'))
		return false;
	unsigned number = 0;
	for (char c : text)
	{
		if (c < '0' || c > '9')
			return false;
		number = number * 10 + static_cast<unsigned>(c - '0');
	}
	if (number > 65535)
		return false;
	value = static_cast<std::uint16_t>(number);
	return true;
}

// Finds the CR that ends a v1 line within its 107 bytes (`end`); otherwise (or without the LF
// after it) the verdict: INVALID, or INCOMPLETE with the bytes needed.
std::optional<InboundParse> v1LineEnd(const unsigned char* p, std::size_t size, std::size_t& end)
{
	// The CR must come by byte 106, so that the line with its CRLF is at most 107 bytes.
	std::size_t limit = std::min(size, InboundParser::V1_MAX - 1);
	end = 0;
	for (; end < limit; ++end)
	{
		unsigned char c = p[end];
		if (c == '\r')
			break;
		if (c < 0x20 || c > 0x7e)
			return result(Status::INVALID, "v1: a control or non-ASCII byte (0x" + std::string(1, "0123456789abcdef"[c >> 4])
				+ std::string(1, "0123456789abcdef"[c & 15]) + ") in the header line");
	}
	if (end == limit)
	{
		if (size >= InboundParser::V1_MAX - 1)
			return result(Status::INVALID, "v1: no CRLF within 107 bytes");
		return result(Status::INCOMPLETE, "", size + 1);
	}
	if (end + 1 >= size)
		return result(Status::INCOMPLETE, "", end + 2);
	if (p[end + 1] != '\n')
		return result(Status::INVALID, "v1: CR not followed by LF");
	return std::nullopt;
}

// The protocol, addresses and ports of a "PROXY TCP4|TCP6" line (six parts) into `header`;
// returns what is wrong, or "" when all is well.
std::string v1Addresses(const std::vector<std::string>& parts, InboundHeader& header)
{
	int family = 0;
	if (parts[1] == "TCP4")
		family = AF_INET;
	else if (parts[1] == "TCP6")
		family = AF_INET6;
	else
		return "v1: unknown protocol \"" + parts[1] + "\" (TCP4, TCP6 or UNKNOWN)";
	Poco::Net::IPAddress source, destination;
	if (!canonicalAddress(parts[2], family, source))
		return "v1: source \"" + parts[2] + "\" is not a canonical " + parts[1] + " address";
	if (!canonicalAddress(parts[3], family, destination))
		return "v1: destination \"" + parts[3] + "\" is not a canonical " + parts[1] + " address";
	std::uint16_t sourcePort = 0, destinationPort = 0;
	if (!port(parts[4], sourcePort))
		return "v1: source port \"" + parts[4] + "\" is not 0-65535 without leading zeros";
	if (!port(parts[5], destinationPort))
		return "v1: destination port \"" + parts[5] + "\" is not 0-65535 without leading zeros";
	header.command = InboundHeader::Command::PROXY;
	header.source = Poco::Net::SocketAddress(source, sourcePort);
	header.destination = Poco::Net::SocketAddress(destination, destinationPort);
	return std::string();
}

InboundParse parseV1(const unsigned char* p, std::size_t size)
{
	std::size_t end = 0;
	if (std::optional<InboundParse> verdict = v1LineEnd(p, size, end))
		return *verdict;
	std::string line(reinterpret_cast<const char*>(p), end);
	std::vector<std::string> parts = splitSpaces(line);
	InboundParse parse = result(Status::COMPLETE);
	parse.header.version = 1;
	parse.header.length = end + 2;
	if (parts.size() >= 2 && parts[1] == "UNKNOWN")
	{
		parse.header.command = InboundHeader::Command::UNKNOWN; // the rest of the line is ignored (spec 2.1)
		return parse;
	}
	if (parts.size() != 6)
		return result(Status::INVALID, "v1: expected \"PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\" with single spaces");
	std::string error = v1Addresses(parts, parse.header);
	if (!error.empty())
		return result(Status::INVALID, error);
	return parse;
}

std::uint16_t be16(const unsigned char* p)
{
	return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

// The length of the address block for a v2 family byte (`addressLength`); returns what is wrong
// (an unknown family, or a non-TCP one for PROXY), or "" when all is well.
std::string v2AddressLength(unsigned char family, unsigned command, std::size_t& addressLength)
{
	switch (family)
	{
	case 0x00: addressLength = 0; break;
	case 0x11: addressLength = 12; break;
	case 0x21: addressLength = 36; break;
	case 0x12: case 0x22: case 0x31: case 0x32:
		if (command == 1)
			return "v2: family 0x" + std::string(1, "0123456789abcdef"[family >> 4])
				+ std::string(1, "0123456789abcdef"[family & 15]) + " is not TCP";
		break;
	default:
		return "v2: unknown address family byte " + std::to_string(family);
	}
	return std::string();
}

// The addresses at `a` of a PROXY command into `header`: TCP over IPv4 or IPv6, else UNKNOWN.
void v2Addresses(const unsigned char* a, unsigned char family, InboundHeader& header)
{
	if (family == 0x11)
	{
		header.source = Poco::Net::SocketAddress(Poco::Net::IPAddress(a, 4), be16(a + 8));
		header.destination = Poco::Net::SocketAddress(Poco::Net::IPAddress(a + 4, 4), be16(a + 10));
		header.command = InboundHeader::Command::PROXY;
	}
	else if (family == 0x21)
	{
		header.source = Poco::Net::SocketAddress(Poco::Net::IPAddress(a, 16), be16(a + 32));
		header.destination = Poco::Net::SocketAddress(Poco::Net::IPAddress(a + 16, 16), be16(a + 34));
		header.command = InboundHeader::Command::PROXY;
	}
	else
		header.command = InboundHeader::Command::UNKNOWN;
}

// The TLVs from `at` to the header's end: each type, 16-bit length and value, filling the rest
// exactly. Keeps all but NOOP in `header`; `crcAt` gets the CRC32C value's offset (0: none).
// Returns what is wrong, or "" when all is well.
std::string v2Tlvs(const unsigned char* p, std::size_t at, InboundHeader& header, std::size_t& crcAt)
{
	crcAt = 0;
	while (at < header.length)
	{
		if (header.length - at < 3)
			return "v2: " + std::to_string(header.length - at) + " stray bytes after the TLVs";
		unsigned char type = p[at];
		std::size_t valueLength = be16(p + at + 1);
		if (at + 3 + valueLength > header.length)
			return "v2: TLV type " + std::to_string(type) + " runs past the header";
		if (type == TlvType::CRC32C)
		{
			if (valueLength != 4)
				return "v2: CRC32C TLV of " + std::to_string(valueLength) + " bytes, not 4";
			if (crcAt)
				return "v2: two CRC32C TLVs";
			crcAt = at + 3;
		}
		if (type == TlvType::UNIQUE_ID && valueLength > 128)
			return "v2: UNIQUE_ID of " + std::to_string(valueLength) + " bytes, more than 128";
		if (type != TlvType::NOOP)
			header.tlvs.push_back({type, std::string(reinterpret_cast<const char*>(p + at + 3), valueLength)});
		at += 3 + valueLength;
	}
	return std::string();
}

// True if the CRC32C value at `crcAt` matches the `length` bytes of the header with it zeroed.
bool v2CrcMatches(const unsigned char* p, std::size_t length, std::size_t crcAt)
{
	std::string copy(reinterpret_cast<const char*>(p), length);
	std::memset(&copy[crcAt], 0, 4);
	std::uint32_t expected = ProxyHeader::crc32c(copy.data(), copy.size());
	std::uint32_t received = (std::uint32_t(p[crcAt]) << 24) | (std::uint32_t(p[crcAt + 1]) << 16)
		| (std::uint32_t(p[crcAt + 2]) << 8) | std::uint32_t(p[crcAt + 3]);
	return expected == received;
}

InboundParse parseV2(const unsigned char* p, std::size_t size)
{
	if (size < 16)
		return result(Status::INCOMPLETE, "", 16);
	unsigned char versionCommand = p[12];
	if ((versionCommand >> 4) != 2)
		return result(Status::INVALID, "v2: version " + std::to_string(versionCommand >> 4) + ", not 2");
	unsigned command = versionCommand & 0x0f;
	if (command > 1)
		return result(Status::INVALID, "v2: unknown command " + std::to_string(command));
	unsigned char family = p[13];
	std::size_t length = be16(p + 14);
	if (16 + length > InboundParser::MAX)
		return result(Status::INVALID, "v2: " + std::to_string(16 + length) + " bytes, more than 536");
	if (size < 16 + length)
		return result(Status::INCOMPLETE, "", 16 + length);

	InboundParse parse = result(Status::COMPLETE);
	InboundHeader& header = parse.header;
	header.version = 2;
	header.length = 16 + length;
	std::size_t addressLength = 0;
	std::string error = v2AddressLength(family, command, addressLength);
	if (!error.empty())
		return result(Status::INVALID, error);
	if (command == 0)
	{
		header.command = InboundHeader::Command::LOCAL; // addresses and TLVs are ignored (spec 2.2)
		return parse;
	}
	if (length < addressLength)
		return result(Status::INVALID, "v2: length " + std::to_string(length) + " is too short for the addresses");
	v2Addresses(p + 16, family, header);
	std::size_t crcAt = 0;
	error = v2Tlvs(p, 16 + addressLength, header, crcAt);
	if (!error.empty())
		return result(Status::INVALID, error);
	if (crcAt && !v2CrcMatches(p, header.length, crcAt))
		return result(Status::INVALID, "v2: CRC32C does not match");
	return parse;
}

} // namespace


InboundParse InboundParser::parse(const void* pData, std::size_t size, Accept accept)
{
	const unsigned char* p = static_cast<const unsigned char*>(pData);
	if (size == 0)
		return result(Status::INCOMPLETE, "", 1);
	bool v1 = accept != Accept::V2 && startsLike(p, size, V1_PREFIX);
	bool v2 = accept != Accept::V1 && startsLike(p, size, ProxyHeader::V2_SIGNATURE);
	if (v1)
		return size < V1_PREFIX.size() ? result(Status::INCOMPLETE, "", V1_PREFIX.size()) : parseV1(p, size);
	if (v2)
		return size < ProxyHeader::V2_SIGNATURE.size() ? result(Status::INCOMPLETE, "", ProxyHeader::V2_SIGNATURE.size()) : parseV2(p, size);
	return result(Status::MISSING, accept == Accept::V1 ? "no PROXY v1 header" : accept == Accept::V2 ? "no PROXY v2 signature"
		: "no PROXY v1 or v2 header");
}

} } // namespace ForwardOptimal::ProxyProtocol
