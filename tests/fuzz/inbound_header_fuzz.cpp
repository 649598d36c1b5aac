// Fuzz target: the inbound PROXY header parser (InboundParser::parse).
//
// Input: one mode byte (low two bits: 0 v1, 1 v2, else any), then the bytes a trusted balancer
// sent.
//
// Properties: the parser never reads past its input or crashes; a COMPLETE header takes at
// most the input, at most 107 bytes for v1 and 536 for v2, and every shorter prefix of it is
// INCOMPLETE, asking for more than it has (so peek-then-read never takes a client byte);
// INCOMPLETE asks for more than the input and at most 536 bytes; a v1 PROXY header is exactly
// what the encoder writes for its endpoints (canonical text), and a v2 PROXY header starts with
// the encoder's bytes for its endpoints; MISSING only when the input does not start like a
// signature of an accepted version; INVALID always says why.
#include "FuzzCheck.h"

#include "proxyprotocol/InboundHeader.h"
#include "proxyprotocol/ProxyHeader.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

using ForwardOptimal::Fuzz::printable;
using namespace ForwardOptimal::ProxyProtocol;
using Status = InboundParse::Status;

namespace {

bool startsLike(const std::string& data, const std::string& signature)
{
	std::size_t n = std::min(data.size(), signature.size());
	return data.compare(0, n, signature, 0, n) == 0;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* pData, std::size_t size)
{
	if (size == 0)
		return 0;
	Accept accept = (pData[0] & 3) == 0 ? Accept::V1 : (pData[0] & 3) == 1 ? Accept::V2 : Accept::ANY;
	std::string data(reinterpret_cast<const char*>(pData + 1), size - 1);
	if (data.size() > 2 * InboundParser::MAX)
		data.resize(2 * InboundParser::MAX);
	InboundParse parse = InboundParser::parse(data.data(), data.size(), accept);
	const std::string shown = printable(data);
	switch (parse.status)
	{
	case Status::INCOMPLETE:
		FO_FUZZ_CHECK(parse.needed > data.size() && parse.needed <= InboundParser::MAX, shown);
		break;
	case Status::MISSING:
	{
		bool v1 = accept != Accept::V2 && startsLike(data, "PROXY ");
		bool v2 = accept != Accept::V1 && startsLike(data, ProxyHeader::V2_SIGNATURE);
		FO_FUZZ_CHECK(!data.empty() && !v1 && !v2, shown);
		break;
	}
	case Status::INVALID:
		FO_FUZZ_CHECK(!parse.reason.empty(), shown);
		break;
	case Status::COMPLETE:
	{
		const InboundHeader& header = parse.header;
		FO_FUZZ_CHECK(header.length <= data.size(), shown);
		FO_FUZZ_CHECK(header.length <= (header.version == 1 ? InboundParser::V1_MAX : InboundParser::MAX), shown);
		for (std::size_t k = 0; k < header.length; ++k)
		{
			InboundParse prefix = InboundParser::parse(data.data(), k, accept);
			FO_FUZZ_CHECK(prefix.status == Status::INCOMPLETE && prefix.needed > k && prefix.needed <= header.length,
				"prefix of " + std::to_string(k) + " bytes of " + shown);
		}
		if (header.command == InboundHeader::Command::PROXY)
		{
			std::string bytes = data.substr(0, header.length);
			if (header.version == 1)
				FO_FUZZ_CHECK(ProxyHeader::v1(header.source, header.destination) == bytes, shown);
			else
			{
				std::string encoded = ProxyHeader::v2(header.source, header.destination);
				// The same signature, command, family and addresses; only the length may differ (TLVs).
				FO_FUZZ_CHECK(encoded.compare(0, 14, bytes, 0, 14) == 0, shown);
				FO_FUZZ_CHECK(encoded.compare(16, std::string::npos, bytes, 16, encoded.size() - 16) == 0, shown);
			}
		}
		break;
	}
	}
	return 0;
}
