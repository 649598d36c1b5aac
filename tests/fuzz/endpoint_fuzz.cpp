// Fuzz target: the address parser (Endpoint::parseTarget, Endpoint::parseListen).
//
// Input: the text of an address as written in `targets`, `bindAddr` or `adminAddr`.
//
// Properties:
//  - each parser returns an Endpoint or throws Poco::InvalidArgumentException with a message
//    that quotes the input; anything else, a crash or a hang is a bug;
//  - accepted text is printable ASCII without spaces (nothing invisible passes);
//  - toString() is canonical: it parses back to an equal endpoint with the same text;
//  - a target is never "every address" nor port 0, and every target is also a valid listen
//    address; a listen address that is neither is also a valid target (the same value);
//  - an IPv4 or IPv6 endpoint is an address POCO's IPAddress accepts, of that family (but "::").
#include "FuzzCheck.h"

#include "config/Endpoint.h"

#include "Poco/Exception.h"
#include "Poco/Net/IPAddress.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <typeinfo>

using ForwardOptimal::Config::Endpoint;
using ForwardOptimal::Fuzz::printable;
using Kind = Endpoint::HostKind;

namespace {

std::optional<Endpoint> parse(const std::string& text, bool listen)
{
	std::string context = std::string(listen ? "parseListen" : "parseTarget") + "('" + printable(text) + "')";
	try
	{
		return listen ? Endpoint::parseListen(text) : Endpoint::parseTarget(text);
	}
	catch (const Poco::InvalidArgumentException& error)
	{
		FO_FUZZ_CHECK(error.message().compare(0, text.size() + 2, "'" + text + "'") == 0,
			context + ": " + printable(error.message()));
	}
	catch (const Poco::Exception& error)
	{
		FO_FUZZ_CHECK(false, context + ": escaped " + error.className() + ": " + printable(error.displayText()));
	}
	catch (const std::exception& error)
	{
		FO_FUZZ_CHECK(false, context + ": escaped " + typeid(error).name() + ": " + printable(error.what()));
	}
	catch (...)
	{
		FO_FUZZ_CHECK(false, context + ": escaped a non-std exception");
	}
	return std::nullopt;
}

void checkAccepted(const std::string& text, const Endpoint& endpoint, bool listen)
{
	std::string canonical = endpoint.toString();
	std::string context = std::string(listen ? "parseListen" : "parseTarget") + "('" + printable(text)
		+ "') = '" + printable(canonical) + "'";

	for (char c : text)
		FO_FUZZ_CHECK(c > ' ' && c < 0x7f, context);
	if (!listen)
		FO_FUZZ_CHECK(endpoint.kind() != Kind::ANY && endpoint.port() != 0, context);
	FO_FUZZ_CHECK((endpoint.kind() == Kind::ANY) == endpoint.host().empty(), context);

	std::optional<Endpoint> again = parse(canonical, listen);
	FO_FUZZ_CHECK(again, context + ": the canonical text is rejected");
	FO_FUZZ_CHECK(*again == endpoint && again->kind() == endpoint.kind() && again->port() == endpoint.port(), context);
	FO_FUZZ_CHECK(again->toString() == canonical, context + " -> '" + printable(again->toString()) + "'");

	// POCO's tryParse rejects "::" (it takes the all-zero address for "no address"); the code
	// that uses "::" goes through SocketAddress's resolver path or Listener's own case instead.
	if (endpoint.kind() == Kind::IPV4 || (endpoint.kind() == Kind::IPV6 && endpoint.host() != "::"))
	{
		Poco::Net::IPAddress address;
		FO_FUZZ_CHECK(Poco::Net::IPAddress::tryParse(endpoint.host(), address), context);
		FO_FUZZ_CHECK(address.family() == (endpoint.kind() == Kind::IPV4 ? Poco::Net::IPAddress::IPv4 : Poco::Net::IPAddress::IPv6), context);
	}
}

} // namespace


extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
	std::string text(reinterpret_cast<const char*>(data), size);
	std::optional<Endpoint> target = parse(text, false);
	std::optional<Endpoint> listen = parse(text, true);
	if (target)
		checkAccepted(text, *target, false);
	if (listen)
		checkAccepted(text, *listen, true);

	std::string context = "'" + printable(text) + "'";
	if (target)
		FO_FUZZ_CHECK(listen && *listen == *target && listen->toString() == target->toString(), context);
	if (listen && listen->kind() != Kind::ANY && listen->port() != 0)
		FO_FUZZ_CHECK(target, context + " is a listen address but not a target");
	return 0;
}
