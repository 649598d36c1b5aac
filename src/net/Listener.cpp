#include "net/Listener.h"

#include "Poco/Exception.h"
#include "Poco/Net/NetException.h"

namespace ForwardOptimal {
namespace Net {

namespace {

Poco::Net::ServerSocket bindDualStack(std::uint16_t port)
{
	Poco::Net::ServerSocket socket;
	try
	{
		socket.bind6(Poco::Net::SocketAddress(Poco::Net::IPAddress::wildcard(Poco::Net::IPAddress::IPv6), port),
			true, false, false);
	}
	catch (const Poco::Net::NetException&)
	{
		// No IPv6 on this host (EAFNOSUPPORT): fall back to every IPv4 address. A real
		// bind error (port in use) will show again, and be reported, on this attempt.
		socket = Poco::Net::ServerSocket();
		socket.bind(Poco::Net::SocketAddress(Poco::Net::IPAddress::wildcard(Poco::Net::IPAddress::IPv4), port), true, false);
	}
	return socket;
}

} // namespace


Poco::Net::ServerSocket Listener::listen(const Config::Endpoint& endpoint, int backlog)
{
	try
	{
		Poco::Net::ServerSocket socket;
		using Kind = Config::Endpoint::HostKind;
		if (endpoint.kind() == Kind::ANY || (endpoint.kind() == Kind::IPV6 && endpoint.host() == "::"))
			socket = bindDualStack(endpoint.port());
		else
		{
			Poco::Net::SocketAddress address(endpoint.host(), endpoint.port());
			if (address.family() == Poco::Net::SocketAddress::IPv6)
				socket.bind6(address, true, false, true);
			else
				socket.bind(address, true, false);
		}
		socket.listen(backlog);
		return socket;
	}
	catch (const Poco::Exception& error)
	{
		throw Poco::IOException("cannot listen on " + endpoint.toString() + ": " + error.displayText());
	}
}

} } // namespace ForwardOptimal::Net
