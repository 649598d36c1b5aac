#pragma once

#include "health/Resolver.h"

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace ForwardOptimal {
namespace Test {

/// A scripted resolver for unit tests: each name ("relay.test:22") resolves to whatever the
/// test set last (default: "DNS: Name or service not known"). Counts the lookups. Thread-safe.
class FakeResolver: public Health::Resolver
{
public:
	void set(const std::string& target, const std::vector<std::string>& addresses)
	{
		std::lock_guard<std::mutex> lock(_mutex);
		Health::Resolution resolution;
		for (const auto& address : addresses)
			resolution.addresses.emplace_back(address);
		_results[target] = resolution;
	}

	void fail(const std::string& target, const std::string& error)
	{
		std::lock_guard<std::mutex> lock(_mutex);
		Health::Resolution resolution;
		resolution.error = error;
		_results[target] = resolution;
	}

	int lookups() const
	{
		std::lock_guard<std::mutex> lock(_mutex);
		return _lookups;
	}

	Health::Resolution resolve(const Config::Endpoint& target, std::chrono::milliseconds) override
	{
		std::lock_guard<std::mutex> lock(_mutex);
		++_lookups;
		auto it = _results.find(target.toString());
		if (it != _results.end())
			return it->second;
		Health::Resolution unknown;
		unknown.error = "DNS: Name or service not known: " + target.host();
		return unknown;
	}

private:
	mutable std::mutex _mutex;
	std::map<std::string, Health::Resolution> _results;
	int _lookups = 0;
};

} } // namespace ForwardOptimal::Test
