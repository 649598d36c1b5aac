#pragma once

#include "config/Settings.h"
#include "health/HealthSnapshot.h"
#include "stats/Counters.h"

#include "Poco/JSON/Object.h"
#include "Poco/Timestamp.h"

#include <memory>
#include <string>

namespace ForwardOptimal {
namespace Admin {

/// Everything the admin endpoints show, gathered at the moment of a request.
struct AdminView
{
	std::shared_ptr<const Health::HealthSnapshot> pSnapshot;
	std::shared_ptr<const Config::Settings> pSettings;
	const Stats::Counters* pCounters = nullptr;
	std::size_t poolIdle = 0;            /// idle pooled sockets of the best target
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
