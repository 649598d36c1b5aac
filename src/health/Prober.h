#pragma once

#include "Poco/Net/SocketAddress.h"

#include <chrono>
#include <string>

namespace ForwardOptimal {
namespace Health {

/// What one probe of one address found.
struct ProbeResult
{
	bool ok = false;
	double latencyMs = 0.0;   /// TCP connect time (name resolution excluded), when ok
	std::string error;        /// short reason when not ok: "connection refused", "timeout after 5s", ...
	bool local = false;       /// not ok because the probe could not be made here (this process is
	                          /// out of descriptors or memory): says nothing about the target
};

/// Checks one address (a target's names are resolved before, by a Resolver). The real one
/// connects over TCP (TcpProber); tests inject scripted results. probe() is called
/// concurrently for different addresses and must not throw.
class Prober
{
public:
	virtual ~Prober() = default;
	virtual ProbeResult probe(const Poco::Net::SocketAddress& address, std::chrono::milliseconds timeout) = 0;
};

} } // namespace ForwardOptimal::Health
