#pragma once

#include "config/Endpoint.h"

#include "Poco/Net/ServerSocket.h"

namespace ForwardOptimal {
namespace Net {

/// Listening sockets for the proxy and the admin endpoint. Stateless; thread-safe.
class Listener
{
public:
	static Poco::Net::ServerSocket listen(const Config::Endpoint& endpoint, int backlog);
		/// Binds and listens: `:port` and `[::]:port` accept IPv4 and IPv6 (dual stack, as Go's
		/// net.Listen does; IPv4 only where the host has no IPv6); SO_REUSEADDR but never
		/// SO_REUSEPORT, so a second instance on the same port fails instead of sharing it.
		/// Throws Poco::IOException "cannot listen on ADDRESS: reason".
};

} } // namespace ForwardOptimal::Net
