#pragma once

#include "config/Settings.h"
#include "net/MappedAddress.h"
#include "proxyprotocol/InboundHeader.h"
#include "stats/Refusal.h"

#include <chrono>
#include <optional>
#include <string>

namespace ForwardOptimal {
namespace Proxy {

/// Inbound PROXY protocol on a client socket (acceptProxyProtocol, trustedProxies,
/// proxyHeaderTimeout): who is trusted, and reading a trusted balancer's header without
/// taking one byte of the client's stream. Stateless; thread-safe.
class InboundProxy
{
public:
	/// What reading the header gave.
	struct Result
	{
		std::optional<Stats::Refusal> refusal;  /// set: the client must be refused (MISSING,
		                                        /// INVALID, TIMEOUT) or closed (PROXY_LOCAL)
		std::string reason;                     /// for the log: what was wrong
		ProxyProtocol::InboundHeader header;    /// the header, when there is no refusal
		bool stopped = false;                   /// `stopFd` became readable first: nothing read
	};

	static bool trusted(const Config::Settings& settings, const Net::MappedAddress& peer);
		/// True if inbound PROXY is on and `peer` is in trustedProxies.

	static ProxyProtocol::Accept accept(Config::AcceptProxy mode);
		/// The parser's mode for a setting; "" (off, after a reload) accepts either version.

	static Result read(int socket, ProxyProtocol::Accept accept, std::chrono::milliseconds timeout, int stopFd = -1);
		/// Peeks at the first bytes until a whole header is there (SO_RCVLOWAT + poll, so the
		/// wait costs no busy loop), at most `timeout`, then reads exactly the header's bytes:
		/// whatever the client sent after it stays in the socket for the relay. Gives up at
		/// once (`stopped`) when `stopFd` (the server's StopSignal) becomes readable.
};

} } // namespace ForwardOptimal::Proxy
