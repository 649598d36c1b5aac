#include "health/Resolver.h"

#include "Poco/Net/IPAddress.h"

#include <algorithm>
#include <cstring>
#include <thread>

#include <netdb.h>
#include <sys/socket.h>

namespace ForwardOptimal {
namespace Health {

std::optional<Poco::Net::SocketAddress> Resolver::literal(const Config::Endpoint& target)
{
	if (target.kind() != Config::Endpoint::HostKind::IPV4 && target.kind() != Config::Endpoint::HostKind::IPV6)
		return std::nullopt;
	return Poco::Net::SocketAddress(Poco::Net::IPAddress(target.host()), target.port());
}


Resolution SystemResolver::lookup(const std::string& host, std::uint16_t port)
{
	Resolution resolution;
	addrinfo hints{};
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	// No AI_ADDRCONFIG: it hides ::1 on a host without a global IPv6 address, and an
	// address that cannot be reached from here is simply probed down.
	addrinfo* pList = nullptr;
	std::string service = std::to_string(port);
	int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &pList);
	if (rc != 0)
	{
		std::string text = rc == EAI_SYSTEM ? std::string(std::strerror(errno)) : std::string(::gai_strerror(rc));
		resolution.error = "DNS: " + text + ": " + host;
		return resolution;
	}
	for (addrinfo* p = pList; p; p = p->ai_next)
	{
		if (p->ai_family != AF_INET && p->ai_family != AF_INET6)
			continue;
		Poco::Net::SocketAddress address(p->ai_addr, static_cast<poco_socklen_t>(p->ai_addrlen));
		if (std::find(resolution.addresses.begin(), resolution.addresses.end(), address) == resolution.addresses.end())
			resolution.addresses.push_back(address);
	}
	::freeaddrinfo(pList);
	if (resolution.addresses.empty())
		resolution.error = "DNS: no IPv4 or IPv6 address: " + host;
	return resolution;
}


Resolution SystemResolver::resolve(const Config::Endpoint& target, std::chrono::milliseconds timeout)
{
	std::string key = target.toString();
	std::shared_ptr<Pending> pPending;
	{
		std::lock_guard<std::mutex> lock(_mutex);
		auto it = _pending.find(key);
		if (it != _pending.end())
		{
			std::lock_guard<std::mutex> state(it->second->mutex);
			if (!it->second->finished)
				pPending = it->second;  // still running: wait for that one
		}
		if (!pPending)
		{
			pPending = std::make_shared<Pending>();
			_pending[key] = pPending;
			try
			{
				std::thread([pPending, host = target.host(), port = target.port()] {
					Resolution result = lookup(host, port);
					std::lock_guard<std::mutex> state(pPending->mutex);
					pPending->result = std::move(result);
					pPending->finished = true;
					pPending->done.notify_all();
				}).detach();
			}
			catch (const std::system_error& error)
			{
				_pending.erase(key);
				Resolution failed;
				failed.error = std::string("DNS: cannot start a lookup: ") + error.what();
				return failed;
			}
		}
	}
	std::unique_lock<std::mutex> state(pPending->mutex);
	if (!pPending->done.wait_for(state, timeout, [&] { return pPending->finished; }))
	{
		Resolution late;
		double seconds = static_cast<double>(timeout.count()) / 1000.0;
		std::string text = std::to_string(seconds);
		text.erase(text.find_last_not_of('0') + 1);
		if (text.back() == '.')
			text.pop_back();
		late.error = "DNS: no answer within " + text + "s: " + target.host();
		return late;
	}
	return pPending->result;
}

} } // namespace ForwardOptimal::Health
