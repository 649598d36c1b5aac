#include "proxy/InboundProxy.h"

#include <array>
#include <cerrno>

#include <poll.h>
#include <sys/socket.h>

namespace ForwardOptimal {
namespace Proxy {

namespace {

using ProxyProtocol::InboundParse;
using ProxyProtocol::InboundParser;
using Status = InboundParse::Status;

InboundProxy::Result refusal(Stats::Refusal reason, std::string text)
{
	InboundProxy::Result result;
	result.refusal = reason;
	result.reason = std::move(text);
	return result;
}

// Sets the receive low-water mark; puts it back to 1 when the read is done, however it ends.
class LowWater
{
public:
	explicit LowWater(int socket): _socket(socket) {}
	~LowWater() { set(1); }
	void set(std::size_t bytes)
	{
		int value = static_cast<int>(bytes);
		if (value != _value)
		{
			::setsockopt(_socket, SOL_SOCKET, SO_RCVLOWAT, &value, sizeof value);
			_value = value;
		}
	}

private:
	int _socket;
	int _value = 1;
};

} // namespace


bool InboundProxy::trusted(const Config::Settings& settings, const Net::MappedAddress& peer)
{
	if (settings.acceptProxyProtocol == Config::AcceptProxy::NONE)
		return false;
	for (const auto& network : settings.trustedProxies)
		if (network.contains(peer))
			return true;
	return false;
}


bool InboundProxy::trusted(const Config::Settings& settings, int connectedSocket)
{
	if (settings.acceptProxyProtocol == Config::AcceptProxy::NONE)
		return false; // no system call when the feature is off
	sockaddr_storage peer{};
	socklen_t length = sizeof peer;
	if (::getpeername(connectedSocket, reinterpret_cast<sockaddr*>(&peer), &length) != 0)
		return false;
	std::optional<Net::MappedAddress> address = Net::MappedAddress::of(reinterpret_cast<const sockaddr*>(&peer));
	return address && trusted(settings, *address);
}


ProxyProtocol::Accept InboundProxy::accept(Config::AcceptProxy mode)
{
	switch (mode)
	{
	case Config::AcceptProxy::V1: return ProxyProtocol::Accept::V1;
	case Config::AcceptProxy::V2: return ProxyProtocol::Accept::V2;
	default: return ProxyProtocol::Accept::ANY;
	}
}


InboundProxy::Result InboundProxy::read(int socket, ProxyProtocol::Accept accept, std::chrono::milliseconds timeout, int stopFd)
{
	using Clock = std::chrono::steady_clock;
	Clock::time_point deadline = Clock::now() + timeout;
	std::array<char, InboundParser::MAX> buffer;
	LowWater lowWater(socket);
	std::size_t want = 1;
	for (;;)
	{
		lowWater.set(want);
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
		if (left <= 0)
			return refusal(Stats::Refusal::PROXY_HEADER_TIMEOUT, "no whole header within " + std::to_string(timeout.count()) + " ms");
		pollfd entries[2] = {{socket, POLLIN | POLLRDHUP, 0}, {stopFd, POLLIN, 0}};
		const pollfd& entry = entries[0];
		int ready = ::poll(entries, stopFd >= 0 ? 2 : 1, static_cast<int>(left));
		if (ready > 0 && (entries[1].revents & POLLIN))
		{
			Result stopped;
			stopped.stopped = true;
			return stopped;
		}
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0)
			return refusal(Stats::Refusal::PROXY_HEADER_MISSING, "poll failed");
		if (ready == 0)
			continue; // the deadline check above ends it
		ssize_t n = ::recv(socket, buffer.data(), buffer.size(), MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			continue;
		if (n <= 0)
			return refusal(Stats::Refusal::PROXY_HEADER_MISSING, n == 0 ? "closed before any byte" : "connection reset");
		InboundParse parse = InboundParser::parse(buffer.data(), static_cast<std::size_t>(n), accept);
		switch (parse.status)
		{
		case Status::MISSING:
			return refusal(Stats::Refusal::PROXY_HEADER_MISSING, parse.reason);
		case Status::INVALID:
			return refusal(Stats::Refusal::PROXY_HEADER_INVALID, parse.reason);
		case Status::INCOMPLETE:
			// The peer closed with part of a header: no more bytes will come.
			if (entry.revents & (POLLRDHUP | POLLHUP | POLLERR))
				return refusal(Stats::Refusal::PROXY_HEADER_INVALID, "closed after " + std::to_string(n) + " bytes of a header");
			want = parse.needed;
			continue;
		case Status::COMPLETE:
			break;
		}
		// Exactly the header's bytes: they are in the socket already (peeked).
		ssize_t got = ::recv(socket, buffer.data(), parse.header.length, MSG_WAITALL);
		if (got != static_cast<ssize_t>(parse.header.length))
			return refusal(Stats::Refusal::PROXY_HEADER_INVALID, "the header could not be read back");
		Result result;
		result.header = std::move(parse.header);
		if (result.header.command == ProxyProtocol::InboundHeader::Command::LOCAL)
			result.refusal = Stats::Refusal::PROXY_LOCAL;
		return result;
	}
}

} } // namespace ForwardOptimal::Proxy
