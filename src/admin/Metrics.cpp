#include "admin/AdminView.h"

#include "BuildInfo.h"
#include "stats/Refusal.h"

#include "Poco/JSON/Array.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace ForwardOptimal {
namespace Admin {

namespace {

std::string number(double value)
{
	// Large values are timestamps and byte counts: keep every digit; small ones are latencies.
	char buffer[64];
	std::snprintf(buffer, sizeof buffer, std::fabs(value) >= 1e6 ? "%.3f" : "%.9g", value);
	return buffer;
}

class Writer
{
public:
	void family(const std::string& name, const std::string& type, const std::string& help)
	{
		_out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
	}

	// A family with one unlabelled sample: most counters and gauges here.
	void single(const std::string& name, const std::string& type, const std::string& help, double value)
	{
		family(name, type, help);
		sample(name, "", value);
	}

	void sample(const std::string& name, const std::string& labels, double value)
	{
		_out << name << (labels.empty() ? "" : "{" + labels + "}") << " " << number(value) << "\n";
	}

	std::string text() const { return _out.str(); }

private:
	std::ostringstream _out;
};

double seconds(const Poco::Timestamp& at)
{
	return static_cast<double>(at.epochMicroseconds()) / 1e6;
}

// Usable targets, best first, each with the smoothed latency that ranks it.
Poco::JSON::Array::Ptr ranking(const Health::HealthSnapshot& snapshot)
{
	Poco::JSON::Array::Ptr ranking = new Poco::JSON::Array;
	for (std::size_t index : snapshot.ranking)
	{
		const Health::TargetStatus& t = snapshot.targets[index];
		Poco::JSON::Object::Ptr entry = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
		entry->set("target", t.target.toString());
		entry->set("smoothedLatencyMs", t.smoothedLatencyMs >= 0 ? Poco::Dynamic::Var(t.smoothedLatencyMs) : Poco::Dynamic::Var());
		ranking->add(entry);
	}
	return ranking;
}

// The ring of recent rounds (per round: time, and per target in the order of "targets": up and
// the probe's latency, null when it failed) and of recent state changes, oldest first.
Poco::JSON::Object::Ptr history(const Health::HealthHistory& history)
{
	Poco::JSON::Object::Ptr json = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
	Poco::JSON::Array::Ptr rounds = new Poco::JSON::Array;
	for (const auto& pRound : history.rounds())
	{
		Poco::JSON::Object::Ptr round = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
		round->set("at", seconds(pRound->at));
		round->set("round", pRound->round);
		Poco::JSON::Array::Ptr up = new Poco::JSON::Array;
		Poco::JSON::Array::Ptr latency = new Poco::JSON::Array;
		for (std::size_t i = 0; i < pRound->up.size(); ++i)
		{
			up->add(static_cast<bool>(pRound->up[i]));
			latency->add(pRound->latencyMs[i] >= 0 ? Poco::Dynamic::Var(pRound->latencyMs[i]) : Poco::Dynamic::Var());
		}
		round->set("up", up);
		round->set("latencyMs", latency);
		rounds->add(round);
	}
	json->set("rounds", rounds);
	Poco::JSON::Array::Ptr changes = new Poco::JSON::Array;
	for (const auto& pChange : history.changes())
	{
		Poco::JSON::Object::Ptr change = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
		change->set("at", seconds(pChange->at));
		change->set("event", std::string(Health::StateChange::name(pChange->kind)));
		change->set("target", pChange->target.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(pChange->target));
		change->set("reason", pChange->reason);
		changes->add(change);
	}
	json->set("changes", changes);
	return json;
}

std::string targetLabel(const Health::TargetStatus& status)
{
	return "target=\"" + Metrics::escapeLabel(status.target.toString()) + "\"";
}

// Each address of each target (a literal has one; a name as many as it resolved to).
std::string addressLabel(const Health::TargetStatus& t, const Health::AddressStatus& a)
{
	return targetLabel(t) + ",address=\"" + Metrics::escapeLabel(a.text) + "\"";
}

// The sections of Metrics::prometheus, in the order they appear in the exposition.

void writeProcess(Writer& w, const AdminView& view)
{
	w.family("forwardoptimal_build_info", "gauge", "Version, commit and build date of the running binary.");
	w.sample("forwardoptimal_build_info", std::string("version=\"") + BuildInfo::VERSION + "\",commit=\"" + BuildInfo::COMMIT
		+ "\",build_date=\"" + BuildInfo::BUILD_DATE + "\"", 1);
	w.single("forwardoptimal_start_time_seconds", "gauge", "Start time of the process since the Unix epoch.", static_cast<double>(view.started.epochMicroseconds()) / 1e6);
}

void writeTargets(Writer& w, const Health::HealthSnapshot& snapshot)
{
	const Health::TargetStatus* pBest = snapshot.best();
	w.family("forwardoptimal_target_up", "gauge", "1 if the target passed its latest health check.");
	for (const auto& t : snapshot.targets)
		w.sample("forwardoptimal_target_up", targetLabel(t), t.healthy ? 1 : 0);
	w.family("forwardoptimal_target_latency_seconds", "gauge", "TCP connect time of the latest successful probe.");
	for (const auto& t : snapshot.targets)
		if (t.lastLatencyMs >= 0)
			w.sample("forwardoptimal_target_latency_seconds", targetLabel(t), t.lastLatencyMs / 1000.0);
	w.family("forwardoptimal_target_smoothed_latency_seconds", "gauge", "Smoothed connect time that ranks the targets.");
	for (const auto& t : snapshot.targets)
		if (t.smoothedLatencyMs >= 0)
			w.sample("forwardoptimal_target_smoothed_latency_seconds", targetLabel(t), t.smoothedLatencyMs / 1000.0);
	w.family("forwardoptimal_target_best", "gauge", "1 for the target new clients are sent to.");
	for (const auto& t : snapshot.targets)
		w.sample("forwardoptimal_target_best", targetLabel(t), &t == pBest ? 1 : 0);
}

void writeAddresses(Writer& w, const Health::HealthSnapshot& snapshot)
{
	w.family("forwardoptimal_address_up", "gauge", "1 if the address of the target passed its latest health check.");
	for (const auto& t : snapshot.targets)
		for (const auto& a : t.addresses)
			w.sample("forwardoptimal_address_up", addressLabel(t, a), a.healthy ? 1 : 0);
	w.family("forwardoptimal_address_smoothed_latency_seconds", "gauge", "Smoothed connect time of one address of a target.");
	for (const auto& t : snapshot.targets)
		for (const auto& a : t.addresses)
			if (a.smoothedLatencyMs >= 0)
				w.sample("forwardoptimal_address_smoothed_latency_seconds", addressLabel(t, a), a.smoothedLatencyMs / 1000.0);
	w.family("forwardoptimal_address_best", "gauge", "1 for the address of its target that sessions connect to first.");
	for (const auto& t : snapshot.targets)
		for (const auto& a : t.addresses)
			w.sample("forwardoptimal_address_best", addressLabel(t, a), &a == t.bestAddress() ? 1 : 0);
}

void writeProbes(Writer& w, const Health::HealthSnapshot& snapshot)
{
	w.family("forwardoptimal_probe_latency_seconds", "histogram", "TCP connect time of successful health probes.");
	for (const auto& t : snapshot.targets)
	{
		for (std::size_t i = 0; i < t.latencies.BOUNDS_MS.size(); ++i)
			w.sample("forwardoptimal_probe_latency_seconds_bucket",
				targetLabel(t) + ",le=\"" + number(t.latencies.BOUNDS_MS[i] / 1000.0) + "\"", static_cast<double>(t.latencies.buckets[i]));
		w.sample("forwardoptimal_probe_latency_seconds_bucket", targetLabel(t) + ",le=\"+Inf\"", static_cast<double>(t.latencies.count));
		w.sample("forwardoptimal_probe_latency_seconds_sum", targetLabel(t), t.latencies.sumMs / 1000.0);
		w.sample("forwardoptimal_probe_latency_seconds_count", targetLabel(t), static_cast<double>(t.latencies.count));
	}
	w.family("forwardoptimal_probes_total", "counter", "Health probes finished, successful or not.");
	for (const auto& t : snapshot.targets)
		w.sample("forwardoptimal_probes_total", targetLabel(t), static_cast<double>(t.probes));
	w.single("forwardoptimal_health_rounds_total", "counter", "Health-check rounds completed.", static_cast<double>(snapshot.round));
	w.single("forwardoptimal_paused", "gauge", "1 while no target is healthy and new clients are refused.", snapshot.paused() ? 1 : 0);
}

void writeConnections(Writer& w, const Stats::Counters& c)
{
	w.single("forwardoptimal_connections_accepted_total", "counter", "Client connections handed to a session thread.", static_cast<double>(c.accepted.load()));
	w.single("forwardoptimal_connections_active", "gauge", "Client sessions in progress.", static_cast<double>(c.activeSessions.load()));
	w.family("forwardoptimal_connections_refused_total", "counter", "Client connections closed at once, by reason.");
	for (const Stats::RefusalInfo& refusal : Stats::REFUSALS)
		w.sample("forwardoptimal_connections_refused_total", std::string("reason=\"") + refusal.metricLabel + "\"",
			static_cast<double>((c.*refusal.counter).load()));
	w.single("forwardoptimal_upstream_connect_failures_total", "counter", "Connects to a target for a client that failed.", static_cast<double>(c.upstreamFailures.load()));
	w.single("forwardoptimal_failovers_total", "counter", "Sessions served by a later target after the best one failed.", static_cast<double>(c.failovers.load()));
}

void writePool(Writer& w, const AdminView& view)
{
	const Stats::Counters& c = *view.pCounters;
	w.single("forwardoptimal_pool_hits_total", "counter", "Sessions that got a pre-connected upstream socket.", static_cast<double>(c.poolHits.load()));
	w.single("forwardoptimal_pool_misses_total", "counter", "Sessions that had to connect to the upstream.", static_cast<double>(c.poolMisses.load()));
	w.single("forwardoptimal_pool_discarded_total", "counter", "Pooled sockets dropped as closed, broken or too old.", static_cast<double>(c.poolDiscarded.load()));
	w.single("forwardoptimal_pool_size", "gauge", "Configured pre-connected sockets for the best target (poolSize).", static_cast<double>(view.pSettings->poolSize));
	w.single("forwardoptimal_pool_idle_connections", "gauge", "Pre-connected sockets waiting for a client.", static_cast<double>(view.poolIdle));
	w.single("forwardoptimal_pool_preconnects_total", "counter", "Connections the pool opened ahead of demand.", static_cast<double>(c.poolPreconnects.load()));
	w.single("forwardoptimal_pool_refusals_total", "counter", "Pooled sockets a target closed right after the connect (an error greeting such as a host block).", static_cast<double>(c.poolRefusals.load()));
	w.single("forwardoptimal_pool_warm", "gauge", "1 while the pool pre-connects: a client arrived within poolIdleStop.", view.poolWarm ? 1 : 0);
	w.family("forwardoptimal_pool_preconnect_disabled", "gauge", "1 for a target the pool does not pre-connect to, because it closes silent connections on its own.");
	for (const auto& t : view.pSnapshot->targets)
		w.sample("forwardoptimal_pool_preconnect_disabled", targetLabel(t),
			std::count(view.poolPreconnectDisabled.begin(), view.poolPreconnectDisabled.end(), t.target.toString()) > 0 ? 1 : 0);
	w.single("forwardoptimal_pool_max_idle_seconds", "gauge", "Age at which a pooled socket is replaced: poolMaxIdle, or half the idle lifetime learned from the best target.", static_cast<double>(view.poolMaxIdle.count()) / 1000.0);
}

void writeBytes(Writer& w, const Stats::Counters& c)
{
	w.family("forwardoptimal_bytes_total", "counter", "Bytes relayed, by direction (counted when a session ends).");
	w.sample("forwardoptimal_bytes_total", "direction=\"client_to_upstream\"", static_cast<double>(c.bytesClientToUpstream.load()));
	w.sample("forwardoptimal_bytes_total", "direction=\"upstream_to_client\"", static_cast<double>(c.bytesUpstreamToClient.load()));
}

void writeSplice(Writer& w, const AdminView& view)
{
	w.family("forwardoptimal_splice_pipes", "gauge", "Pipes of the relay's splice pool, by state.");
	w.sample("forwardoptimal_splice_pipes", "state=\"in_use\"", static_cast<double>(view.splicePipesInUse));
	w.sample("forwardoptimal_splice_pipes", "state=\"idle\"", static_cast<double>(view.splicePipesIdle));
	w.single("forwardoptimal_splice_pipes_max", "gauge", "Pipes the splice pool may hold at once (from RLIMIT_NOFILE).", static_cast<double>(view.splicePipesMax));
	w.single("forwardoptimal_splice_fallbacks_total", "counter", "Relay directions that wanted a splice pipe, found none free and copied instead.", static_cast<double>(view.pCounters->spliceFallbacks.load()));
}

// The parts of Metrics::status.

Poco::JSON::Object::Ptr addressJson(const Health::TargetStatus& t, const Health::AddressStatus& a)
{
	Poco::JSON::Object::Ptr address = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
	address->set("address", a.text);
	address->set("healthy", a.healthy);
	address->set("best", &a == t.bestAddress());
	address->set("latencyMs", a.lastLatencyMs >= 0 ? Poco::Dynamic::Var(a.lastLatencyMs) : Poco::Dynamic::Var());
	address->set("smoothedLatencyMs", a.smoothedLatencyMs >= 0 ? Poco::Dynamic::Var(a.smoothedLatencyMs) : Poco::Dynamic::Var());
	address->set("lastError", a.lastError);
	address->set("consecutiveFailures", a.consecutiveFailures);
	return address;
}

Poco::JSON::Object::Ptr targetJson(const Health::TargetStatus& t, const Health::TargetStatus* pBest)
{
	Poco::JSON::Object::Ptr target = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
	target->set("target", t.target.toString());
	target->set("address", t.address);
	target->set("healthy", t.healthy);
	target->set("best", &t == pBest);
	target->set("latencyMs", t.lastLatencyMs >= 0 ? Poco::Dynamic::Var(t.lastLatencyMs) : Poco::Dynamic::Var());
	target->set("smoothedLatencyMs", t.smoothedLatencyMs >= 0 ? Poco::Dynamic::Var(t.smoothedLatencyMs) : Poco::Dynamic::Var());
	target->set("lastError", t.lastError);
	target->set("consecutiveFailures", t.consecutiveFailures);
	target->set("lastChange", static_cast<double>(t.lastChange.epochMicroseconds()) / 1e6);
	Poco::JSON::Array::Ptr addresses = new Poco::JSON::Array;
	for (const auto& a : t.addresses)
		addresses->add(addressJson(t, a));
	target->set("addresses", addresses);
	return target;
}

Poco::JSON::Object::Ptr connectionsJson(const Stats::Counters& c)
{
	Poco::JSON::Object::Ptr counters = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
	counters->set("accepted", c.accepted.load());
	counters->set("active", c.activeSessions.load());
	for (const Stats::RefusalInfo& refusal : Stats::REFUSALS)
		counters->set(refusal.statusKey, (c.*refusal.counter).load());
	counters->set("upstreamConnectFailures", c.upstreamFailures.load());
	counters->set("failovers", c.failovers.load());
	counters->set("bytesClientToUpstream", c.bytesClientToUpstream.load());
	counters->set("bytesUpstreamToClient", c.bytesUpstreamToClient.load());
	return counters;
}

Poco::JSON::Object::Ptr poolJson(const AdminView& view)
{
	const Stats::Counters& c = *view.pCounters;
	Poco::JSON::Object::Ptr pool = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
	pool->set("size", view.pSettings->poolSize);
	pool->set("idle", view.poolIdle);
	pool->set("hits", c.poolHits.load());
	pool->set("misses", c.poolMisses.load());
	pool->set("discarded", c.poolDiscarded.load());
	pool->set("preconnects", c.poolPreconnects.load());
	pool->set("refusals", c.poolRefusals.load());
	pool->set("warm", view.poolWarm);
	Poco::JSON::Array::Ptr disabled = new Poco::JSON::Array;
	for (const auto& target : view.poolPreconnectDisabled)
		disabled->add(target);
	pool->set("preconnectDisabled", disabled);
	pool->set("maxIdleMs", static_cast<Poco::Int64>(view.poolMaxIdle.count()));
	if (view.poolLearnedLifetime)
		pool->set("learnedIdleLifetimeMs", static_cast<Poco::Int64>(view.poolLearnedLifetime->count()));
	else
		pool->set("learnedIdleLifetimeMs", Poco::Dynamic::Var()); // null: none learned
	return pool;
}

Poco::JSON::Object::Ptr spliceJson(const AdminView& view)
{
	Poco::JSON::Object::Ptr splice = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
	splice->set("mode", Config::toString(view.pSettings->splice));
	splice->set("pipesInUse", view.splicePipesInUse);
	splice->set("pipesIdle", view.splicePipesIdle);
	splice->set("pipesMax", view.splicePipesMax);
	splice->set("fallbacks", view.pCounters->spliceFallbacks.load());
	return splice;
}

} // namespace


std::string Metrics::escapeLabel(const std::string& value)
{
	std::string out;
	for (char c : value)
	{
		if (c == '\\' || c == '"')
			out += '\\';
		if (c == '\n')
		{
			out += "\\n";
			continue;
		}
		out += c;
	}
	return out;
}


std::string Metrics::prometheus(const AdminView& view)
{
	const Health::HealthSnapshot& snapshot = *view.pSnapshot;
	Writer w;
	writeProcess(w, view);
	writeTargets(w, snapshot);
	writeAddresses(w, snapshot);
	writeProbes(w, snapshot);
	writeConnections(w, *view.pCounters);
	writePool(w, view);
	writeBytes(w, *view.pCounters);
	writeSplice(w, view);
	return w.text();
}


Poco::JSON::Object::Ptr Metrics::status(const AdminView& view)
{
	const Health::HealthSnapshot& snapshot = *view.pSnapshot;
	Poco::JSON::Object::Ptr json = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
	json->set("version", std::string(BuildInfo::VERSION));
	json->set("commit", std::string(BuildInfo::COMMIT));
	json->set("configFile", view.pSettings->sourceFile);
	json->set("uptimeSeconds", static_cast<double>(view.started.elapsed()) / 1e6);
	json->set("state", snapshot.paused() ? "paused" : "serving");
	const Health::TargetStatus* pBest = snapshot.best();
	json->set("best", pBest ? Poco::Dynamic::Var(pBest->target.toString()) : Poco::Dynamic::Var());
	json->set("healthRounds", snapshot.round);
	Poco::JSON::Array::Ptr targets = new Poco::JSON::Array;
	for (const auto& t : snapshot.targets)
		targets->add(targetJson(t, pBest));
	json->set("targets", targets);
	json->set("connections", connectionsJson(*view.pCounters));
	json->set("pool", poolJson(view));
	json->set("splice", spliceJson(view));
	json->set("ranking", ranking(snapshot));
	json->set("history", history(*snapshot.pHistory));
	return json;
}

} } // namespace ForwardOptimal::Admin
