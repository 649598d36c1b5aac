#pragma once

#include "config/Settings.h"
#include "health/Prober.h"

namespace ForwardOptimal {
namespace Health {

/// Resolves the target's name afresh, connects with a timeout and measures the connect time.
/// With the PROXY protocol on, it writes a valid header before closing (v2: LOCAL command;
/// v1: a TCP4/TCP6 line built from the probe socket's own endpoints), so strict receivers
/// do not log a protocol error for every probe. Stateless; thread-safe.
class TcpProber: public Prober
{
public:
	explicit TcpProber(Config::ProxyProtocol proxyProtocol);
	ProbeResult probe(const Config::Endpoint& target, std::chrono::milliseconds timeout) override;

private:
	Config::ProxyProtocol _proxyProtocol;
};

} } // namespace ForwardOptimal::Health
