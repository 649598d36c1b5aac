#pragma once

#include "config/Settings.h"
#include "health/HealthSnapshot.h"
#include "stats/Counters.h"

#include "Poco/JSON/Object.h"
#include "Poco/Timestamp.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ForwardOptimal {
namespace Admin {

/// Everything the admin endpoints show, gathered at the moment of a request.
struct AdminView
{
	std::shared_ptr<const Health::HealthSnapshot> pSnapshot;
	std::shared_ptr<const Config::Settings> pSettings;
	const Stats::Counters* pCounters = nullptr;
	std::size_t poolIdle = 0;            /// idle pooled sockets of the best target
	std::chrono::milliseconds poolMaxIdle{0};   /// the best target's pooled sockets are replaced at this age
	std::optional<std::chrono::milliseconds> poolLearnedLifetime; /// how long the best target keeps silent connections, if learned
	bool poolWarm = false;               /// the pool pre-connects now (a client arrived within poolIdleStop)
	std::vector<std::string> poolPreconnectDisabled; /// targets not pre-connected: they close silent connections
	std::size_t splicePipesInUse = 0;    /// pipes relay directions splice through now
	std::size_t splicePipesIdle = 0;     /// pipes kept for reuse
	std::size_t splicePipesMax = 0;      /// the pipe pool's bound (from RLIMIT_NOFILE)
	Poco::Timestamp started;             /// process start
};

/// The Prometheus text exposition (format 0.0.4) and the /status JSON, as pure functions of an
/// AdminView. Thread-safe.
class Metrics
{
public:
	static std::string prometheus(const AdminView& view);
	static Poco::JSON::Object::Ptr status(const AdminView& view);
	static std::string escapeLabel(const std::string& value);
};

} } // namespace ForwardOptimal::Admin
