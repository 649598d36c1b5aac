#include "net/Cidr.h"

#include "Poco/Exception.h"
#include "Poco/Net/IPAddress.h"

#include <arpa/inet.h>

namespace ForwardOptimal {
namespace Net {

namespace {

bool inPrefix(const MappedAddress::Bytes& a, const MappedAddress::Bytes& b, unsigned prefix)
{
	for (unsigned i = 0; i < 16; ++i)
	{
		unsigned bits = prefix > i * 8 ? std::min(8u, prefix - i * 8) : 0;
		std::uint8_t mask = static_cast<std::uint8_t>(bits == 0 ? 0 : 0xff << (8 - bits));
		if ((a[i] & mask) != (b[i] & mask))
			return false;
	}
	return true;
}

} // namespace


Cidr Cidr::parse(const std::string& text)
{
	std::size_t slash = text.find('/');
	std::string host = text.substr(0, slash);
	unsigned char bytes[16];
	bool v4 = inet_pton(AF_INET, host.c_str(), bytes) == 1;
	if (!v4 && inet_pton(AF_INET6, host.c_str(), bytes) != 1)
		throw Poco::InvalidArgumentException("'" + text + "' is not an IPv4 or IPv6 address or network (CIDR, e.g. 198.18.0.0/15)");
	unsigned most = v4 ? 32 : 128;
	unsigned prefix = most;
	if (slash != std::string::npos)
	{
		std::string digits = text.substr(slash + 1);
		if (digits.empty() || digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos
			|| std::stoul(digits) > most)
			throw Poco::InvalidArgumentException("'" + text + "': the prefix length must be 0-" + std::to_string(most));
		prefix = static_cast<unsigned>(std::stoul(digits));
	}
	Cidr cidr;
	cidr._network = MappedAddress(Poco::Net::IPAddress(bytes, v4 ? 4 : 16));
	cidr._prefix = prefix + (v4 ? 96 : 0);
	if (!v4 && cidr._network.isV4() && prefix < 96)
		throw Poco::InvalidArgumentException("'" + text + "': an IPv4-mapped network needs a prefix of at least 96");
	MappedAddress::Bytes network = cidr._network.bytes();
	for (unsigned i = cidr._prefix; i < 128; ++i)
		network[i / 8] = static_cast<std::uint8_t>(network[i / 8] & ~(0x80 >> (i % 8)));
	if (network != cidr._network.bytes())
	{
		Cidr masked = cidr;
		masked._network = MappedAddress(Poco::Net::IPAddress(v4 ? network.data() + 12 : network.data(), v4 ? 4 : 16));
		throw Poco::InvalidArgumentException("'" + text + "' has bits set after the prefix: did you mean " + masked.toString() + "?");
	}
	return cidr;
}


bool Cidr::contains(const MappedAddress& address) const
{
	return inPrefix(_network.bytes(), address.bytes(), _prefix);
}


std::string Cidr::toString() const
{
	bool v4 = _network.isV4() && _prefix >= 96;
	return _network.toString() + "/" + std::to_string(v4 ? _prefix - 96 : _prefix);
}

} } // namespace ForwardOptimal::Net
