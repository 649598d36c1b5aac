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

enum class Wait { READY, AGAIN, STOPPED, FAILED };

// Waits up to `leftMs` for bytes on `socket` or, when `stopFd` is set, for the stop signal;
// `revents` receives the socket's events.
Wait waitReadable(int socket, int stopFd, std::chrono::milliseconds::rep leftMs, short& revents)
{
	pollfd entries[2] = {{socket, POLLIN | POLLRDHUP, 0}, {stopFd, POLLIN, 0}};
	int ready = ::poll(entries, stopFd >= 0 ? 2 : 1, static_cast<int>(leftMs));
	revents = entries[0].revents;
	if (ready > 0 && (entries[1].revents & POLLIN))
		return Wait::STOPPED;
	if (ready < 0 && errno == EINTR)
		return Wait::AGAIN;
	if (ready < 0)
		return Wait::FAILED;
	if (ready == 0)
		return Wait::AGAIN; // the caller's deadline check ends it
	return Wait::READY;
}

// Reads exactly the header's bytes: they are in the socket already (peeked).
InboundProxy::Result takeHeader(int socket, char* buffer, InboundParse& parse)
{
	ssize_t got = ::recv(socket, buffer, parse.header.length, MSG_WAITALL);
	if (got != static_cast<ssize_t>(parse.header.length))
		return refusal(Stats::Refusal::PROXY_HEADER_INVALID, "the header could not be read back");
	InboundProxy::Result result;
	result.header = std::move(parse.header);
	if (result.header.command == ProxyProtocol::InboundHeader::Command::LOCAL)
		result.refusal = Stats::Refusal::PROXY_LOCAL;
	return result;
}

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
		short revents = 0;
		Wait wait = waitReadable(socket, stopFd, left, revents);
		if (wait == Wait::STOPPED)
		{
			Result stopped;
			stopped.stopped = true;
			return stopped;
		}
		if (wait == Wait::AGAIN)
			continue;
		if (wait == Wait::FAILED)
			return refusal(Stats::Refusal::PROXY_HEADER_MISSING, "poll failed");
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
			if (revents & (POLLRDHUP | POLLHUP | POLLERR))
				return refusal(Stats::Refusal::PROXY_HEADER_INVALID, "closed after " + std::to_string(n) + " bytes of a header");
			want = parse.needed;
			continue;
		case Status::COMPLETE:
			break;
		}
		return takeHeader(socket, buffer.data(), parse);
	}
}

} } // namespace ForwardOptimal::Proxy
