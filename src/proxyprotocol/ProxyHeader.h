#pragma once

#include "Poco/Net/SocketAddress.h"

#include <string>

namespace ForwardOptimal {
namespace ProxyProtocol {

/// PROXY protocol header encoders, byte-exact with HAProxy's doc/proxy-protocol.txt.
/// Pure functions: addresses in, bytes out, no sockets. Thread-safe.
/// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, what a dual-stack listener reports for IPv4
/// clients) are sent as TCP4; if one side is IPv4 and the other IPv6, both are sent as TCP6.
class ProxyHeader
{
public:
	static std::string v1(const Poco::Net::SocketAddress& source, const Poco::Net::SocketAddress& destination);
		/// "PROXY TCP4 <src> <dst> <sport> <dport>\r\n" (or TCP6).

	static std::string v2(const Poco::Net::SocketAddress& source, const Poco::Net::SocketAddress& destination);
		/// Binary header, command PROXY (0x21), family TCP4 (0x11, 12 address bytes) or
		/// TCP6 (0x21, 36 address bytes).

	static std::string v2Local();
		/// Binary header with the LOCAL command (0x20) and no address (family UNSPEC, length 0):
		/// what a health check sends, so the receiver treats the connection as its own.

	static const std::string V2_SIGNATURE;
		/// The 12-byte v2 signature \r\n\r\n\0\r\nQUIT\n.
};

} } // namespace ForwardOptimal::ProxyProtocol
