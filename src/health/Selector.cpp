#include "health/Selector.h"

#include <algorithm>

namespace ForwardOptimal {
namespace Health {

Selector::Change Selector::apply(TargetStatus& status, const ProbeResult& result, const Config::Settings& settings,
	const Poco::Timestamp& now)
{
	if (!result.ok && result.local)
		return Change::NONE; // nothing was learnt about the target
	bool first = !status.probed;
	status.probed = true;
	++status.probes;
	if (!result.address.empty())
		status.address = result.address;

	if (result.ok)
	{
		status.consecutiveFailures = 0;
		++status.consecutiveSuccesses;
		status.lastLatencyMs = result.latencyMs;
		status.latencies.add(result.latencyMs);
		bool restart = status.smoothedLatencyMs < 0 || (!status.healthy && status.consecutiveSuccesses == 1);
		status.smoothedLatencyMs = restart ? result.latencyMs
			: settings.latencySmoothing * result.latencyMs + (1.0 - settings.latencySmoothing) * status.smoothedLatencyMs;
		if (!status.healthy && (first || status.consecutiveSuccesses >= settings.rise))
		{
			status.healthy = true;
			status.lastChange = now;
			return Change::UP;
		}
		return Change::NONE;
	}

	status.consecutiveSuccesses = 0;
	++status.consecutiveFailures;
	status.lastError = result.error;
	if (first)
	{
		status.lastChange = now;
		return Change::DOWN;
	}
	if (status.healthy && status.consecutiveFailures >= settings.fall)
	{
		status.healthy = false;
		status.lastChange = now;
		return Change::DOWN;
	}
	return Change::NONE;
}


Selector::Change Selector::markFailed(TargetStatus& status, const std::string& reason, const Config::Settings& settings,
	const Poco::Timestamp& now)
{
	status.probed = true;
	status.consecutiveSuccesses = 0;
	status.consecutiveFailures = std::max(status.consecutiveFailures + 1, settings.fall);
	status.lastError = reason;
	if (!status.healthy)
		return Change::NONE;
	status.healthy = false;
	status.lastChange = now;
	return Change::DOWN;
}


bool Selector::usable(const TargetStatus& status, const Config::Settings& settings)
{
	return status.healthy && (settings.maxLatencyMs <= 0 || status.smoothedLatencyMs <= settings.maxLatencyMs);
}


std::vector<std::size_t> Selector::rank(const std::vector<TargetStatus>& targets, std::optional<std::size_t> currentBest,
	const Config::Settings& settings)
{
	std::vector<std::size_t> order;
	for (std::size_t i = 0; i < targets.size(); ++i)
		if (usable(targets[i], settings))
			order.push_back(i);
	std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
		return targets[a].smoothedLatencyMs < targets[b].smoothedLatencyMs;
	});

	if (order.size() < 2 || !currentBest)
		return order;
	auto held = std::find(order.begin(), order.end(), *currentBest);
	if (held == order.end())
		return order; // the old best is down or unfit: no reason to hold on to it
	order.erase(held);

	const TargetStatus& best = targets[*currentBest];
	const TargetStatus& challenger = targets[order.front()];
	double margin = std::max(settings.switchMarginMs, best.smoothedLatencyMs * settings.switchMarginPercent / 100.0);
	bool bestDegraded = best.lastLatencyMs >= DEGRADATION_FACTOR * challenger.smoothedLatencyMs
		&& best.lastLatencyMs - challenger.smoothedLatencyMs > margin;
	bool clearlyFaster = challenger.smoothedLatencyMs < best.smoothedLatencyMs - margin;
	if (!bestDegraded && !clearlyFaster)
	{
		order.insert(order.begin(), *currentBest); // keeps its place against noise
		return order;
	}
	// Dethroned: it takes its place among the others by what it measures now.
	double effective = bestDegraded ? best.lastLatencyMs : best.smoothedLatencyMs;
	auto position = std::find_if(order.begin(), order.end(),
		[&](std::size_t i) { return targets[i].smoothedLatencyMs > effective; });
	order.insert(position, *currentBest);
	return order;
}

} } // namespace ForwardOptimal::Health
