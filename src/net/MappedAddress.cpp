#include "net/MappedAddress.h"

#include "Poco/Net/IPAddress.h"

#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace ForwardOptimal {
namespace Net {

namespace {

constexpr std::uint8_t MAPPED_PREFIX[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

} // namespace


MappedAddress::MappedAddress(const Poco::Net::IPAddress& address)
{
	if (address.family() == Poco::Net::IPAddress::IPv4)
		setV4(address.addr());
	else
		std::memcpy(_bytes.data(), address.addr(), _bytes.size());
}


std::optional<MappedAddress> MappedAddress::of(const sockaddr* pAddress)
{
	MappedAddress address;
	if (pAddress->sa_family == AF_INET)
		address.setV4(&reinterpret_cast<const sockaddr_in*>(pAddress)->sin_addr);
	else if (pAddress->sa_family == AF_INET6)
		std::memcpy(address._bytes.data(), &reinterpret_cast<const sockaddr_in6*>(pAddress)->sin6_addr, 16);
	else
		return std::nullopt;
	return address;
}


void MappedAddress::setV4(const void* pFourBytes)
{
	std::memcpy(_bytes.data(), MAPPED_PREFIX, sizeof MAPPED_PREFIX);
	std::memcpy(&_bytes[12], pFourBytes, 4);
}


bool MappedAddress::isV4() const
{
	return std::memcmp(_bytes.data(), MAPPED_PREFIX, sizeof MAPPED_PREFIX) == 0;
}


std::string MappedAddress::toString() const
{
	char text[INET6_ADDRSTRLEN] = {};
	if (isV4())
		::inet_ntop(AF_INET, v4(), text, sizeof text);
	else
		::inet_ntop(AF_INET6, _bytes.data(), text, sizeof text);
	return text;
}


std::size_t MappedAddress::Hash::operator()(const MappedAddress& address) const noexcept
{
	// FNV-1a over the 16 bytes: cheap, and every byte counts (IPv4 keys differ in the last four).
	std::uint64_t h = 14695981039346656037ull;
	for (std::uint8_t byte : address._bytes)
	{
		h ^= byte;
		h *= 1099511628211ull;
	}
	return static_cast<std::size_t>(h ^ (h >> 32));
}

} } // namespace ForwardOptimal::Net
