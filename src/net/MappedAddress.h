#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <sys/socket.h>

namespace Poco {
namespace Net {
class IPAddress;
} }

namespace ForwardOptimal {
namespace Net {

/// An IP address as the 16 bytes of an IPv6 address, an IPv4 one in its IPv4-mapped form
/// (::ffff:a.b.c.d). A dual-stack listener reports an IPv4 client in that form, an IPv4 one
/// as AF_INET: both become the same MappedAddress, so whoever compares or encodes client
/// addresses (the per-source limiter, the PROXY header encoder) sees one address, not two.
/// A small value type; thread-safe as any value.
class MappedAddress
{
public:
	using Bytes = std::array<std::uint8_t, 16>;

	MappedAddress() = default;
		/// The unspecified address, ::.

	explicit MappedAddress(const Poco::Net::IPAddress& address);

	static std::optional<MappedAddress> of(const sockaddr* pAddress);
		/// The address of an AF_INET or AF_INET6 socket address (the port is ignored);
		/// nothing for other families.

	bool isV4() const;
		/// True for ::ffff:a.b.c.d, i.e. an IPv4 address.

	const std::uint8_t* v4() const { return &_bytes[12]; }
		/// The four IPv4 bytes; meaningful when isV4().

	const Bytes& bytes() const { return _bytes; }
		/// All sixteen bytes, IPv4 ones mapped.

	std::string toString() const;
		/// "192.0.2.1" for IPv4 (mapped or not), else the IPv6 text ("2001:db8::7").

	bool operator==(const MappedAddress& other) const { return _bytes == other._bytes; }
	bool operator!=(const MappedAddress& other) const { return _bytes != other._bytes; }

	struct Hash
	{
		std::size_t operator()(const MappedAddress& address) const noexcept;
	};

private:
	void setV4(const void* pFourBytes);

	Bytes _bytes{};
};

} } // namespace ForwardOptimal::Net
