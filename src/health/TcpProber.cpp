#include "health/TcpProber.h"

#include "net/ResourceShortage.h"
#include "proxyprotocol/ProxyHeader.h"

#include "Poco/Net/DNS.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/StreamSocket.h"

#include <cerrno>
#include <cstring>
#include <typeinfo>

namespace ForwardOptimal {
namespace Health {

namespace {

std::string describe(const Poco::Exception& error, std::chrono::milliseconds timeout)
{
	if (dynamic_cast<const Poco::TimeoutException*>(&error))
	{
		double seconds = static_cast<double>(timeout.count()) / 1000.0;
		std::string text = std::to_string(seconds);
		text.erase(text.find_last_not_of('0') + 1);
		if (text.back() == '.') text.pop_back();
		return "timeout after " + text + "s";
	}
	if (dynamic_cast<const Poco::Net::ConnectionRefusedException*>(&error))
		return "connection refused";
	if (dynamic_cast<const Poco::Net::DNSException*>(&error))
	{
		// "DNS: Host not found: name", "DNS: Temporary DNS error while resolving: name"
		bool generic = typeid(error) == typeid(Poco::Net::DNSException);
		return "DNS: " + (generic ? error.message() : error.displayText());
	}
	if (error.code() != 0)
		return std::strerror(error.code());
	return error.displayText();
}

} // namespace


TcpProber::TcpProber(Config::ProxyProtocol proxyProtocol):
	_proxyProtocol(proxyProtocol)
{
}


ProbeResult TcpProber::probe(const Config::Endpoint& target, std::chrono::milliseconds timeout)
{
	ProbeResult result;
	try
	{
		// Resolved at every probe, so a changed DNS record needs no restart.
		Poco::Net::SocketAddress address(target.host(), target.port());
		result.address = address.toString();

		Poco::Net::StreamSocket socket;
		auto started = std::chrono::steady_clock::now();
		socket.connect(address, Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(timeout).count()));
		auto connected = std::chrono::steady_clock::now();
		result.latencyMs = std::chrono::duration<double, std::milli>(connected - started).count();
		result.ok = true;

		if (_proxyProtocol != Config::ProxyProtocol::NONE)
		{
			std::string header = _proxyProtocol == Config::ProxyProtocol::V2
				? ProxyProtocol::ProxyHeader::v2Local()
				: ProxyProtocol::ProxyHeader::v1(socket.address(), socket.peerAddress());
			socket.setSendTimeout(Poco::Timespan(1, 0));
			socket.sendBytes(header.data(), static_cast<int>(header.size()));
			socket.shutdownSend();
		}
		socket.close();
	}
	catch (const Poco::Exception& error)
	{
		if (!result.ok)
		{
			result.error = describe(error, timeout);
			result.local = Net::isResourceShortage(error.code());
		}
		// A failure after the connect (sending the PROXY header) still proves the target up.
	}
	catch (const std::exception& error)
	{
		result.ok = false;
		result.error = error.what();
	}
	return result;
}

} } // namespace ForwardOptimal::Health
