#pragma once

#include "config/Settings.h"
#include "health/Prober.h"

namespace ForwardOptimal {
namespace Health {

/// Times a non-blocking TCP connect
/// (socket, connect, poll up to the timeout): the connect completes when the server's SYN-ACK
/// arrives, so the latency is one round trip plus the server kernel's answer.
///
/// ProbeMode::SYN (the default) never completes the handshake: TCP_QUICKACK is switched off
/// before the connect, so Linux holds back the ACK of the SYN-ACK (delayed-ACK timer, up to
/// 200 ms), and the socket is closed at once with SO_LINGER {1, 0}, which sends a reset. On the
/// wire: SYN out, SYN-ACK in, RST out. The server's connection never leaves SYN_RECV, so its
/// application accepts nothing, logs nothing and counts no failed client (HAProxy's checks work
/// the same way). What it cannot see: a SYN proxy or L4 balancer in front of the target answers
/// the SYN for it (a full connect would be answered by it too).
///
/// ProbeMode::CONNECT completes the handshake (the server's application accepts it) and closes
/// normally. With the PROXY protocol on, it writes a valid header before closing (v2: LOCAL
/// command; v1: a TCP4/TCP6 line built from the probe socket's own endpoints), so strict
/// receivers do not log a protocol error for every probe.
///
/// Stateless; thread-safe.
class TcpProber: public Prober
{
public:
	explicit TcpProber(Config::ProxyProtocol proxyProtocol, Config::ProbeMode mode = Config::ProbeMode::SYN);
	ProbeResult probe(const Poco::Net::SocketAddress& address, std::chrono::milliseconds timeout) override;
		/// Never throws. Errors: "connection refused", "timeout after 5s", or the
		/// system's text; `local` when this process ran short of descriptors or memory.

private:
	Config::ProxyProtocol _proxyProtocol;
	Config::ProbeMode _mode;
};

} } // namespace ForwardOptimal::Health
