#pragma once

#include "health/Prober.h"

#include <map>
#include <mutex>
#include <string>

namespace ForwardOptimal {
namespace Test {

/// A scripted prober for unit tests: each address ("127.0.0.1:1", "[2001:db8::1]:22")
/// answers with whatever the test set last (default: refused). Counts the probes. Thread-safe, as the monitor probes concurrently.
class FakeProber: public Health::Prober
{
public:
	void up(const std::string& target, double latencyMs)
	{
		std::lock_guard<std::mutex> lock(_mutex);
		Health::ProbeResult result;
		result.ok = true;
		result.latencyMs = latencyMs;
		_results[target] = result;
	}

	void down(const std::string& target, const std::string& error = "connection refused")
	{
		std::lock_guard<std::mutex> lock(_mutex);
		Health::ProbeResult result;
		result.error = error;
		_results[target] = result;
	}

	void cannotProbe(const std::string& target, const std::string& error = "Too many open files")
		/// The probe fails here, before reaching the target (ProbeResult::local).
	{
		std::lock_guard<std::mutex> lock(_mutex);
		Health::ProbeResult result;
		result.error = error;
		result.local = true;
		_results[target] = result;
	}

	int probes() const
	{
		std::lock_guard<std::mutex> lock(_mutex);
		return _probes;
	}

	Health::ProbeResult probe(const Poco::Net::SocketAddress& address, std::chrono::milliseconds) override
	{
		std::lock_guard<std::mutex> lock(_mutex);
		++_probes;
		auto it = _results.find(address.toString());
		if (it != _results.end())
			return it->second;
		Health::ProbeResult refused;
		refused.error = "connection refused";
		return refused;
	}

private:
	mutable std::mutex _mutex;
	std::map<std::string, Health::ProbeResult> _results;
	int _probes = 0;
};

} } // namespace ForwardOptimal::Test
