#include "proxy/SourceLimiter.h"

#include "Poco/Net/IPAddress.h"

#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace ForwardOptimal {
namespace Proxy {

SourceLimiter::Lease::Lease(SourceLimiter* pOwner, const Address& address, bool granted):
	_pOwner(pOwner),
	_address(address),
	_granted(granted)
{
}


SourceLimiter::Lease::Lease(Lease&& other) noexcept:
	_pOwner(other._pOwner),
	_address(other._address),
	_granted(other._granted)
{
	other._pOwner = nullptr;
}


SourceLimiter::Lease& SourceLimiter::Lease::operator=(Lease&& other) noexcept
{
	if (this != &other)
	{
		release();
		_pOwner = other._pOwner;
		_address = other._address;
		_granted = other._granted;
		other._pOwner = nullptr;
	}
	return *this;
}


SourceLimiter::Lease::~Lease()
{
	release();
}


void SourceLimiter::Lease::release()
{
	if (_pOwner)
		_pOwner->release(_address);
	_pOwner = nullptr;
}


SourceLimiter::Lease SourceLimiter::acquire(const Address& source, unsigned limit)
{
	if (limit == 0)
		return Lease();
	Shard& shard = shardOf(source);
	std::lock_guard<std::mutex> lock(shard.mutex);
	unsigned& count = shard.counts[source]; // a new address starts at 0, which is below any limit
	if (count >= limit)
		return Lease(nullptr, source, false);
	++count;
	return Lease(this, source, true);
}


SourceLimiter::Lease SourceLimiter::acquire(int connectedSocket, unsigned limit)
{
	if (limit == 0)
		return Lease(); // no system call at all when the limit is off
	sockaddr_storage peer{};
	socklen_t length = sizeof peer;
	if (::getpeername(connectedSocket, reinterpret_cast<sockaddr*>(&peer), &length) != 0)
		return Lease();
	std::optional<Address> source = addressOf(reinterpret_cast<const sockaddr*>(&peer));
	return source ? acquire(*source, limit) : Lease();
}


void SourceLimiter::release(const Address& address)
{
	Shard& shard = shardOf(address);
	std::lock_guard<std::mutex> lock(shard.mutex);
	auto it = shard.counts.find(address);
	if (it != shard.counts.end() && --it->second == 0)
		shard.counts.erase(it);
}


std::size_t SourceLimiter::sessions(const Address& source) const
{
	const Shard& shard = shardOf(source);
	std::lock_guard<std::mutex> lock(shard.mutex);
	auto it = shard.counts.find(source);
	return it == shard.counts.end() ? 0 : it->second;
}


std::size_t SourceLimiter::sources() const
{
	std::size_t total = 0;
	for (const Shard& shard : _shards)
	{
		std::lock_guard<std::mutex> lock(shard.mutex);
		total += shard.counts.size();
	}
	return total;
}


std::optional<SourceLimiter::Address> SourceLimiter::addressOf(const sockaddr* pAddress)
{
	Address key{};
	if (pAddress->sa_family == AF_INET)
	{
		// ::ffff:a.b.c.d, the form an IPv4 client has on a dual-stack socket.
		key[10] = 0xff;
		key[11] = 0xff;
		std::memcpy(&key[12], &reinterpret_cast<const sockaddr_in*>(pAddress)->sin_addr, 4);
		return key;
	}
	if (pAddress->sa_family == AF_INET6)
	{
		std::memcpy(key.data(), &reinterpret_cast<const sockaddr_in6*>(pAddress)->sin6_addr, 16);
		return key;
	}
	return std::nullopt;
}


SourceLimiter::Address SourceLimiter::addressOf(const Poco::Net::IPAddress& address)
{
	Address key{};
	if (address.family() == Poco::Net::IPAddress::IPv4)
	{
		key[10] = 0xff;
		key[11] = 0xff;
		std::memcpy(&key[12], address.addr(), 4);
	}
	else
		std::memcpy(key.data(), address.addr(), 16);
	return key;
}


std::string SourceLimiter::toString(const Address& address)
{
	static const std::uint8_t MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	char text[INET6_ADDRSTRLEN];
	if (std::memcmp(address.data(), MAPPED, sizeof MAPPED) == 0)
		::inet_ntop(AF_INET, &address[12], text, sizeof text);
	else
		::inet_ntop(AF_INET6, address.data(), text, sizeof text);
	return text;
}


std::size_t SourceLimiter::hash(const Address& address) noexcept
{
	// FNV-1a over the 16 bytes: cheap, and every byte counts (IPv4 keys differ in the last four).
	std::uint64_t h = 14695981039346656037ull;
	for (std::uint8_t byte : address)
	{
		h ^= byte;
		h *= 1099511628211ull;
	}
	return static_cast<std::size_t>(h ^ (h >> 32));
}

} } // namespace ForwardOptimal::Proxy
