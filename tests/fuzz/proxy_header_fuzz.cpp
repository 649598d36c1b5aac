// Fuzz target: the PROXY protocol encoders (ProxyHeader::v1, v2, v2Local).
//
// Input: two endpoints, source then destination, each as one shape byte, the address bytes the
// shape needs and two port bytes (missing bytes read as 0). Shapes: IPv4, IPv6, IPv4-mapped
// IPv6 (::ffff:a.b.c.d), sparse IPv6 (zero runs of every length: ::, ::1, 1::, a:0:0:b::),
// IPv4-compatible IPv6 (::a.b.c.d), link-local IPv6 with a scope id.
//
// Properties: every header decodes with the strict decoder below, written from HAProxy's
// doc/proxy-protocol.txt and independent of the encoder, and carries exactly the endpoints
// given: IPv4 and IPv4-mapped endpoints as TCP4 when both are, otherwise both as TCP6 with
// IPv4 widened to ::ffff:a.b.c.d (ProxyHeader.h); the scope id is not carried.
#include "FuzzCheck.h"

#include "proxyprotocol/ProxyHeader.h"

#include "Poco/Net/IPAddress.h"
#include "Poco/Net/SocketAddress.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

using ForwardOptimal::Fuzz::printable;
using ForwardOptimal::ProxyProtocol::ProxyHeader;

namespace {

using Address = std::array<std::uint8_t, 16>;

// ---------------------------------------------------------------------------------------------
// The strict decoder. Returns an empty string on success, otherwise what is wrong.

struct Decoded
{
	int command = -1;              // v2: 0 LOCAL, 1 PROXY; v1: 1
	std::uint8_t familyByte = 0;   // v2: the 14th byte; v1: 0x11 for TCP4, 0x21 for TCP6
	std::size_t addressLength = 0; // 4 or 16; 0 for LOCAL
	Address source{};
	Address destination{};
	std::uint16_t sourcePort = 0;
	std::uint16_t destinationPort = 0;
	std::size_t tlvs = 0;          // v2: TLVs after the addresses
};

bool isDigit(char c) { return c >= '0' && c <= '9'; }

int hexValue(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

std::vector<std::string> split(const std::string& text, char separator)
{
	std::vector<std::string> parts;
	std::size_t start = 0;
	for (;;)
	{
		std::size_t at = text.find(separator, start);
		parts.push_back(text.substr(start, at == std::string::npos ? std::string::npos : at - start));
		if (at == std::string::npos)
			return parts;
		start = at + 1;
	}
}

// A decimal number of 1 to `maxDigits` digits, no heading zero, at most `max`.
bool decimal(const std::string& text, std::size_t maxDigits, unsigned max, unsigned& value)
{
	if (text.empty() || text.size() > maxDigits || (text.size() > 1 && text[0] == '0'))
		return false;
	value = 0;
	for (char c : text)
	{
		if (!isDigit(c))
			return false;
		value = value * 10 + static_cast<unsigned>(c - '0');
	}
	return value <= max;
}

// "exactly 4 integers in the range [0..255] inclusive written in decimal representation
// separated by exactly one dot ... Heading zeroes are not permitted"
bool ipv4Text(const std::string& text, std::uint8_t* out)
{
	std::vector<std::string> parts = split(text, '.');
	if (parts.size() != 4)
		return false;
	for (std::size_t i = 0; i < 4; ++i)
	{
		unsigned value = 0;
		if (!decimal(parts[i], 3, 255, value))
			return false;
		out[i] = static_cast<std::uint8_t>(value);
	}
	return true;
}

// Groups of 1-4 hex digits separated by single colons; the last may be a dotted quad (two groups).
bool hexGroups(const std::string& text, bool tailMayBeDotted, std::vector<unsigned>& groups, bool& dotted)
{
	if (text.empty())
		return true;
	std::vector<std::string> parts = split(text, ':');
	for (std::size_t i = 0; i < parts.size(); ++i)
	{
		const std::string& part = parts[i];
		if (i + 1 == parts.size() && tailMayBeDotted && part.find('.') != std::string::npos)
		{
			std::uint8_t v4[4];
			if (!ipv4Text(part, v4))
				return false;
			groups.push_back(v4[0] << 8 | v4[1]);
			groups.push_back(v4[2] << 8 | v4[3]);
			dotted = true;
			continue;
		}
		if (part.empty() || part.size() > 4)
			return false;
		unsigned value = 0;
		for (char c : part)
		{
			int digit = hexValue(c);
			if (digit < 0)
				return false;
			value = value << 4 | static_cast<unsigned>(digit);
		}
		groups.push_back(value);
	}
	return true;
}

// "series of sets of 4 hexadecimal digits (upper or lower case) delimited by colons ..., with the
// acceptance of one double colon sequence to replace the largest acceptable range of consecutive
// zeroes. The total number of decoded bits must exactly be 128." Read with RFC 5952: "::" only
// for the longest run of at least two zero groups (the first of equal runs); a dotted last 32 bits
// (RFC 4291 2.2.3) only for IPv4-mapped (::ffff:0:0/96) and IPv4-compatible (::/96) addresses.
bool ipv6Text(const std::string& text, std::uint8_t* out)
{
	std::size_t gap = text.find("::");
	bool compressed = gap != std::string::npos;
	if (compressed && text.find("::", gap + 1) != std::string::npos)
		return false;
	std::string left = compressed ? text.substr(0, gap) : text;
	std::string right = compressed ? text.substr(gap + 2) : std::string();
	std::vector<unsigned> head, tail;
	bool dotted = false;
	if (!hexGroups(left, !compressed, head, dotted) || !hexGroups(right, compressed, tail, dotted))
		return false;
	std::size_t written = head.size() + tail.size();
	if (compressed ? written > 7 : written != 8)
		return false;
	std::vector<unsigned> groups(head);
	groups.resize(8 - tail.size(), 0);
	groups.insert(groups.end(), tail.begin(), tail.end());

	if (dotted && !(std::all_of(groups.begin(), groups.begin() + 5, [](unsigned g) { return g == 0; })
		&& (groups[5] == 0 || groups[5] == 0xffff)))
		return false;
	std::size_t bestStart = 0, bestLength = 0;
	std::size_t searchable = dotted ? 6 : 8; // a dotted tail cannot be compressed
	for (std::size_t i = 0; i < searchable;)
	{
		std::size_t j = i;
		while (j < searchable && groups[j] == 0)
			++j;
		if (j - i > bestLength)
		{
			bestStart = i;
			bestLength = j - i;
		}
		i = j == i ? i + 1 : j;
	}
	if (bestLength >= 2)
	{
		if (!compressed || head.size() != bestStart || 8 - written != bestLength)
			return false;
	}
	else if (compressed)
		return false;

	for (std::size_t i = 0; i < 8; ++i)
	{
		out[2 * i] = static_cast<std::uint8_t>(groups[i] >> 8);
		out[2 * i + 1] = static_cast<std::uint8_t>(groups[i] & 0xff);
	}
	return true;
}

std::string decodeV1(const std::string& line, Decoded& header)
{
	if (line.size() > 107)
		return "longer than 107 bytes";
	if (line.size() < 2 || line.compare(line.size() - 2, 2, "\r\n") != 0)
		return "does not end with CRLF";
	std::string body = line.substr(0, line.size() - 2);
	for (char c : body)
		if (c < 0x20 || c > 0x7e)
			return "a byte that is not printable US-ASCII before the CRLF";
	std::vector<std::string> fields = split(body, ' ');
	if (fields.size() != 6)
		return "not 6 fields separated by exactly one space";
	if (fields[0] != "PROXY")
		return "does not start with \"PROXY \"";
	bool v4 = fields[1] == "TCP4";
	if (!v4 && fields[1] != "TCP6")
		return "protocol is neither TCP4 nor TCP6";
	header.command = 1;
	header.familyByte = v4 ? 0x11 : 0x21;
	header.addressLength = v4 ? 4 : 16;
	if (!(v4 ? ipv4Text(fields[2], header.source.data()) : ipv6Text(fields[2], header.source.data())))
		return "bad source address";
	if (!(v4 ? ipv4Text(fields[3], header.destination.data()) : ipv6Text(fields[3], header.destination.data())))
		return "bad destination address";
	unsigned port = 0;
	if (!decimal(fields[4], 5, 65535, port))
		return "bad source port";
	header.sourcePort = static_cast<std::uint16_t>(port);
	if (!decimal(fields[5], 5, 65535, port))
		return "bad destination port";
	header.destinationPort = static_cast<std::uint16_t>(port);
	if (line.size() > (v4 ? 56u : 104u))
		return "longer than the maximum for its family";
	return std::string();
}

std::string decodeV2(const std::string& bytes, Decoded& header)
{
	static const char SIGNATURE[12] = {'\x0D', '\x0A', '\x0D', '\x0A', '\x00', '\x0D', '\x0A', '\x51', '\x55', '\x49', '\x54', '\x0A'};
	if (bytes.size() < 16)
		return "shorter than 16 bytes";
	if (bytes.compare(0, 12, std::string(SIGNATURE, 12)) != 0)
		return "bad signature";
	auto at = [&bytes](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
	if (at(12) >> 4 != 2)
		return "version is not 2";
	header.command = at(12) & 0x0f;
	if (header.command > 1)
		return "command is neither LOCAL nor PROXY";
	header.familyByte = at(13);
	if (at(13) >> 4 > 3 || (at(13) & 0x0f) > 2)
		return "unassigned address family or transport protocol";
	std::size_t length = static_cast<std::size_t>(at(14) << 8 | at(15));
	if (bytes.size() != 16 + length)
		return "length field " + std::to_string(length) + " but " + std::to_string(bytes.size() - 16) + " bytes follow";
	std::size_t pos = 16;
	if (header.command == 1)
	{
		if (at(13) == 0x11)
			header.addressLength = 4;
		else if (at(13) == 0x21)
			header.addressLength = 16;
		else
			return "PROXY command with a family/protocol other than TCP4 or TCP6";
		if (length < 2 * header.addressLength + 4)
			return "address block shorter than its family needs";
		std::copy_n(bytes.begin() + 16, header.addressLength, header.source.begin());
		std::copy_n(bytes.begin() + 16 + static_cast<std::ptrdiff_t>(header.addressLength), header.addressLength, header.destination.begin());
		pos = 16 + 2 * header.addressLength;
		header.sourcePort = static_cast<std::uint16_t>(at(pos) << 8 | at(pos + 1));
		header.destinationPort = static_cast<std::uint16_t>(at(pos + 2) << 8 | at(pos + 3));
		pos += 4;
	}
	else
		pos = 16 + length; // LOCAL: the receiver skips the address block, whatever it holds
	while (pos < bytes.size())
	{
		if (bytes.size() - pos < 3)
			return "truncated TLV header";
		std::size_t tlvLength = static_cast<std::size_t>(at(pos + 1) << 8 | at(pos + 2));
		if (bytes.size() - pos - 3 < tlvLength)
			return "TLV longer than the header";
		pos += 3 + tlvLength;
		++header.tlvs;
	}
	return std::string();
}

// The decoder must itself be right: the specification's examples pass, near misses do not.
bool decoderSelfCheck()
{
	Decoded h;
	bool ok = decodeV1("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", h).empty()
		&& h.familyByte == 0x11 && h.source[0] == 192 && h.source[3] == 1 && h.destination[3] == 11
		&& h.sourcePort == 56324 && h.destinationPort == 443;
	ok = ok && decodeV1("PROXY TCP6 2001:db8::1 ::ffff:198.18.0.1 0 65535\r\n", h).empty()
		&& h.source[0] == 0x20 && h.source[15] == 1 && h.destination[10] == 0xff && h.destination[15] == 1
		&& h.sourcePort == 0 && h.destinationPort == 65535;
	ok = ok && decodeV1("PROXY TCP6 :: 1:0:0:2:: 1 2\r\n", h).empty() && h.destination[1] == 1 && h.destination[7] == 2;
	const char* bad[] = {
		"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n",
		"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443",
		"PROXY TCP4 192.168.0.1  192.168.0.11 56324 443\r\n",
		"PROXY TCP4 192.168.0.1 192.168.0.11 056324 443\r\n",
		"PROXY TCP4 192.168.0.1 192.168.0.11 65536 443\r\n",
		"PROXY TCP4 192.168.00.1 192.168.0.11 1 443\r\n",
		"PROXY TCP4 192.168.0 192.168.0.11 1 443\r\n",
		"PROXY TCP4 ::1 ::1 1 2\r\n",
		"PROXY TCP6 192.168.0.1 192.168.0.11 1 2\r\n",
		"PROXY TCP6 0:0:0:0:0:0:0:1 ::1 1 2\r\n",
		"PROXY TCP6 ::1 1::1:0:0:0:1 1 2\r\n",
		"PROXY TCP6 ::1 1:0::1 1 2\r\n",
		"PROXY TCP6 ::1 ::1::2 1 2\r\n",
		"PROXY TCP6 ::1 :1:2:3:4:5:6:7 1 2\r\n",
		"PROXY TCP6 ::1 2001:db8::198.18.0.1 1 2\r\n",
		"PROXY TCP6 ::1 12345::1 1 2\r\n",
		"PROXY UNKNOWN\r\n",
	};
	for (const char* line : bad)
		ok = ok && !decodeV1(line, h).empty();

	const std::string v2Tcp4("\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c\xac\x13\x00\x01\xac\x13\x00\x03\xa6\x52\x00\x50", 28);
	ok = ok && decodeV2(v2Tcp4, h).empty() && h.command == 1 && h.addressLength == 4 && h.source[0] == 0xac
		&& h.destination[3] == 3 && h.sourcePort == 0xa652 && h.destinationPort == 80 && h.tlvs == 0;
	std::string wrong = v2Tcp4;
	wrong[15] = 0x0d;
	ok = ok && !decodeV2(wrong, h).empty();
	wrong = v2Tcp4;
	wrong[12] = 0x11;
	ok = ok && !decodeV2(wrong, h).empty();
	wrong = v2Tcp4;
	wrong[4] = '0';
	ok = ok && !decodeV2(wrong, h).empty();
	return ok;
}

// ---------------------------------------------------------------------------------------------
// Input to endpoints, and what the header must carry for them.

class Input
{
public:
	Input(const std::uint8_t* data, std::size_t size): _data(data), _size(size) {}

	std::uint8_t byte()
	{
		if (_pos >= _size)
			return 0;
		return _data[_pos++];
	}

private:
	const std::uint8_t* _data;
	std::size_t _size;
	std::size_t _pos = 0;
};

struct Generated
{
	Poco::Net::SocketAddress address;
	bool v4 = false;   // as the header carries it: IPv4, or IPv4-mapped IPv6
	Address wire{};    // 4 bytes if v4, else 16
	std::uint16_t port = 0;
	std::string text;  // for messages
};

Generated generate(Input& in)
{
	Generated g;
	Address raw{};
	bool family4 = false;
	Poco::UInt32 scope = 0;
	switch (in.byte() % 6)
	{
	case 0: // IPv4
		family4 = true;
		for (int i = 0; i < 4; ++i) raw[i] = in.byte();
		break;
	case 1: // IPv6, any bytes
		for (auto& b : raw) b = in.byte();
		break;
	case 2: // IPv4-mapped
		raw[10] = raw[11] = 0xff;
		for (int i = 12; i < 16; ++i) raw[i] = in.byte();
		break;
	case 3: // sparse IPv6: each group present or zero
	{
		std::uint8_t present = in.byte();
		for (int i = 0; i < 8; ++i)
			if (present & (1 << i))
			{
				raw[2 * i] = in.byte();
				raw[2 * i + 1] = in.byte();
			}
		break;
	}
	case 4: // IPv4-compatible (deprecated, still an IPv6 address)
		for (int i = 12; i < 16; ++i) raw[i] = in.byte();
		break;
	default: // link-local with a scope id
		raw[0] = 0xfe;
		raw[1] = 0x80;
		for (int i = 8; i < 16; ++i) raw[i] = in.byte();
		scope = 1u + in.byte();
		break;
	}
	g.port = static_cast<std::uint16_t>(in.byte() << 8 | in.byte());
	Poco::Net::IPAddress host = family4 ? Poco::Net::IPAddress(raw.data(), 4) : Poco::Net::IPAddress(raw.data(), 16, scope);
	g.address = Poco::Net::SocketAddress(host, g.port);
	g.text = g.address.toString();

	static const std::uint8_t MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (family4)
	{
		g.v4 = true;
		std::copy_n(raw.begin(), 4, g.wire.begin());
	}
	else if (std::equal(raw.begin(), raw.begin() + 12, MAPPED))
	{
		g.v4 = true;
		std::copy_n(raw.begin() + 12, 4, g.wire.begin());
	}
	else
		g.wire = raw;
	return g;
}

void widen(Generated& g)
{
	if (!g.v4)
		return;
	Address mapped{};
	mapped[10] = mapped[11] = 0xff;
	std::copy_n(g.wire.begin(), 4, mapped.begin() + 12);
	g.wire = mapped;
	g.v4 = false;
}

std::string hex(const std::string& bytes)
{
	static const char* digits = "0123456789abcdef";
	std::string out;
	for (char c : bytes)
	{
		out += digits[static_cast<std::uint8_t>(c) >> 4];
		out += digits[static_cast<std::uint8_t>(c) & 15];
	}
	return out;
}

void checkCarries(const Decoded& h, const Generated& src, const Generated& dst, const std::string& context)
{
	std::size_t length = src.v4 ? 4 : 16;
	FO_FUZZ_CHECK(h.command == 1, context);
	FO_FUZZ_CHECK(h.familyByte == (src.v4 ? 0x11 : 0x21), context);
	FO_FUZZ_CHECK(h.addressLength == length, context);
	FO_FUZZ_CHECK(std::equal(src.wire.begin(), src.wire.begin() + static_cast<std::ptrdiff_t>(length), h.source.begin()), context + ": source address");
	FO_FUZZ_CHECK(std::equal(dst.wire.begin(), dst.wire.begin() + static_cast<std::ptrdiff_t>(length), h.destination.begin()), context + ": destination address");
	FO_FUZZ_CHECK(h.sourcePort == src.port && h.destinationPort == dst.port, context + ": ports");
	FO_FUZZ_CHECK(h.tlvs == 0, context);
}

} // namespace


extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
	static const bool decoderIsSound = decoderSelfCheck();
	FO_FUZZ_CHECK(decoderIsSound, "the test's own decoder fails its self-check");

	Input in(data, size);
	Generated src = generate(in);
	Generated dst = generate(in);
	std::string context = src.text + " -> " + dst.text;

	std::string v1 = ProxyHeader::v1(src.address, dst.address);
	std::string v2 = ProxyHeader::v2(src.address, dst.address);
	if (src.v4 != dst.v4)
	{
		widen(src);
		widen(dst);
	}

	Decoded h1;
	std::string problem = decodeV1(v1, h1);
	FO_FUZZ_CHECK(problem.empty(), context + ": v1 '" + printable(v1) + "': " + problem);
	checkCarries(h1, src, dst, context + ": v1 '" + printable(v1) + "'");

	Decoded h2;
	problem = decodeV2(v2, h2);
	FO_FUZZ_CHECK(problem.empty(), context + ": v2 " + hex(v2) + ": " + problem);
	checkCarries(h2, src, dst, context + ": v2 " + hex(v2));
	FO_FUZZ_CHECK(v2.size() == 16 + 2 * h2.addressLength + 4, context + ": v2 " + hex(v2));

	std::string local = ProxyHeader::v2Local();
	Decoded h3;
	problem = decodeV2(local, h3);
	FO_FUZZ_CHECK(problem.empty(), "v2 LOCAL " + hex(local) + ": " + problem);
	FO_FUZZ_CHECK(h3.command == 0 && h3.familyByte == 0x00 && local.size() == 16, "v2 LOCAL " + hex(local));
	return 0;
}
