#include "health/Selector.h"

#include <algorithm>

namespace ForwardOptimal {
namespace Health {

namespace {

template <typename State>
std::vector<std::size_t> rankStates(const std::vector<State>& states, std::optional<std::size_t> currentBest,
	const Config::Settings& settings);

/// A target with several addresses and none healthy: the failures of the probed ones.
void foldFailures(TargetStatus& status)
{
	std::string reasons;
	unsigned failures = ~0u;
	for (const auto& a : status.addresses)
	{
		if (!a.probed)
			continue;
		reasons += (reasons.empty() ? "" : "; ") + a.text + ": " + a.lastError;
		failures = std::min(failures, a.consecutiveFailures);
	}
	status.lastError = reasons;
	status.consecutiveSuccesses = 0;
	status.consecutiveFailures = failures == ~0u ? 0 : failures;
}

/// A target with several addresses: healthy while one is (`pBest`, the first in the connect
/// order), with the best one's latency; counts a probe for a `round`.
void foldSeveral(TargetStatus& status, const AddressStatus* pBest, const Poco::Timestamp& now, bool round)
{
	bool wasProbed = status.probed;
	bool wasHealthy = status.healthy;
	status.probed = std::any_of(status.addresses.begin(), status.addresses.end(),
		[](const AddressStatus& a) { return a.probed; });
	if (round)
		++status.probes;
	status.healthy = pBest != nullptr;
	if (pBest)
	{
		status.lastLatencyMs = pBest->lastLatencyMs;
		status.smoothedLatencyMs = pBest->smoothedLatencyMs;
		status.consecutiveSuccesses = pBest->consecutiveSuccesses;
		status.consecutiveFailures = 0;
		if (round && pBest->consecutiveSuccesses > 0)
			status.latencies.add(pBest->lastLatencyMs);
	}
	else
		foldFailures(status);
	if (status.probed && (!wasProbed || status.healthy != wasHealthy))
		status.lastChange = now;
}

} // namespace


Selector::Change Selector::apply(ProbeState& status, const ProbeResult& result, const Config::Settings& settings,
	const Poco::Timestamp& now)
{
	if (!result.ok && result.local)
		return Change::NONE; // nothing was learnt about the target
	bool first = !status.probed;
	status.probed = true;
	++status.probes;

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


Selector::Change Selector::markFailed(ProbeState& status, const std::string& reason, const Config::Settings& settings,
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


bool Selector::usable(const ProbeState& status, const Config::Settings& settings)
{
	return status.healthy && (settings.maxLatencyMs <= 0 || status.smoothedLatencyMs <= settings.maxLatencyMs);
}


std::vector<std::size_t> Selector::rank(const std::vector<TargetStatus>& targets, std::optional<std::size_t> currentBest,
	const Config::Settings& settings)
{
	return rankStates(targets, currentBest, settings);
}


std::vector<std::size_t> Selector::orderAddresses(const std::vector<AddressStatus>& addresses,
	std::optional<std::size_t> currentBest, const Config::Settings& settings)
{
	std::vector<std::size_t> order = rankStates(addresses, currentBest, settings);
	std::vector<std::size_t> slow;
	for (std::size_t i = 0; i < addresses.size(); ++i)
		if (addresses[i].healthy && !usable(addresses[i], settings))
			slow.push_back(i);
	std::stable_sort(slow.begin(), slow.end(), [&](std::size_t a, std::size_t b) {
		return addresses[a].smoothedLatencyMs < addresses[b].smoothedLatencyMs;
	});
	order.insert(order.end(), slow.begin(), slow.end());
	return order;
}


Selector::Change Selector::update(TargetStatus& status, const std::vector<AddressResult>& results, const std::string& dnsError,
	const Config::Settings& settings, const Poco::Timestamp& now, std::vector<AddressChange>* pChanges)
{
	std::string previousBest = status.bestAddress() ? status.bestAddress()->text : std::string();
	if (!dnsError.empty())
	{
		status.dnsError = dnsError;
		status.addresses.clear();
		status.addressOrder.clear();
		status.address.clear();
		ProbeResult failed;
		failed.error = dnsError;
		return apply(status, failed, settings, now);
	}
	status.dnsError.clear();
	bool several = results.size() > 1 || status.addresses.size() > 1;
	std::vector<AddressStatus> next;
	next.reserve(results.size());
	for (const auto& probe : results)
	{
		auto known = std::find_if(status.addresses.begin(), status.addresses.end(),
			[&](const AddressStatus& a) { return a.address == probe.address; });
		if (known != status.addresses.end())
			next.push_back(std::move(*known));
		else
		{
			AddressStatus fresh;
			fresh.address = probe.address;
			fresh.text = probe.address.toString();
			next.push_back(std::move(fresh));
		}
		Change change = apply(next.back(), probe.result, settings, now);
		if (several && pChanges && change != Change::NONE)
			pChanges->push_back(AddressChange{next.back().text, change, false, probe.result.latencyMs, probe.result.error});
	}
	if (several && pChanges)
		for (const auto& old : status.addresses)
			if (!old.text.empty() && std::none_of(next.begin(), next.end(), [&](const AddressStatus& a) { return a.text == old.text; }))
				pChanges->push_back(AddressChange{old.text, Change::NONE, true, 0, std::string()});
	status.addresses = std::move(next);
	return fold(status, previousBest, settings, now, true);
}


Selector::Change Selector::fold(TargetStatus& status, const std::string& previousBest, const Config::Settings& settings,
	const Poco::Timestamp& now, bool round)
{
	if (status.addresses.empty())
		return Change::NONE;
	bool wasProbed = status.probed;
	bool wasHealthy = status.healthy;
	std::optional<std::size_t> held;
	for (std::size_t i = 0; i < status.addresses.size(); ++i)
		if (status.addresses[i].text == previousBest)
			held = i;
	status.addressOrder = orderAddresses(status.addresses, held, settings);
	const AddressStatus* pBest = status.bestAddress();

	if (status.addresses.size() == 1)
		static_cast<ProbeState&>(status) = status.addresses.front(); // a single address is the target
	else
		foldSeveral(status, pBest, now, round);
	status.address = pBest ? pBest->text : status.addresses.front().text;

	if (!status.probed)
		return Change::NONE;
	if (!wasProbed || status.healthy != wasHealthy)
		return status.healthy ? Change::UP : Change::DOWN;
	return Change::NONE;
}


namespace {

template <typename State>
std::vector<std::size_t> rankStates(const std::vector<State>& targets, std::optional<std::size_t> currentBest,
	const Config::Settings& settings)
{
	std::vector<std::size_t> order;
	for (std::size_t i = 0; i < targets.size(); ++i)
		if (Selector::usable(targets[i], settings))
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

	const ProbeState& best = targets[*currentBest];
	const ProbeState& challenger = targets[order.front()];
	double margin = std::max(settings.switchMarginMs, best.smoothedLatencyMs * settings.switchMarginPercent / 100.0);
	bool bestDegraded = best.lastLatencyMs >= Selector::DEGRADATION_FACTOR * challenger.smoothedLatencyMs
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

} // namespace

} } // namespace ForwardOptimal::Health
