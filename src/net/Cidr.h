#pragma once

#include "net/MappedAddress.h"

#include <string>

namespace ForwardOptimal {
namespace Net {

/// An IPv4 or IPv6 network, "198.18.0.0/15" or "2001:db8::/32"; a bare address is a /32 or
/// /128. IPv4 networks are kept in IPv4-mapped form, so contains() matches a dual-stack
/// listener's ::ffff:a.b.c.d clients too. A value type; thread-safe as any value.
class Cidr
{
public:
	static Cidr parse(const std::string& text);
		/// Throws Poco::InvalidArgumentException naming the problem: not an address, prefix out
		/// of range, or bits set after the prefix ("did you mean 198.18.0.0/15?").

	bool contains(const MappedAddress& address) const;

	std::string toString() const;
		/// Canonical text: "198.18.0.0/15", "2001:db8::/32".

	bool operator==(const Cidr& other) const { return _network == other._network && _prefix == other._prefix; }

private:
	MappedAddress _network;
	unsigned _prefix = 0;  // of the 128-bit mapped form
};

} } // namespace ForwardOptimal::Net
