#pragma once

#include "config/Settings.h"
#include "health/HealthMonitor.h"
#include "health/Prober.h"
#include "pool/UpstreamPool.h"
#include "stats/Counters.h"

#include <memory>

namespace ForwardOptimal {
namespace Proxy {

/// Everything that follows the configuration and can be replaced by a reload: the settings,
/// the prober, the health monitor and the upstream pool. A reload builds a new Runtime, starts
/// it (its first health round runs before it is used), and swaps it in; sessions that already
/// hold the old one finish with it. Thread-safe to share; start()/stop() from one thread.
class Runtime
{
public:
	Runtime(std::shared_ptr<const Config::Settings> pSettings, std::unique_ptr<Health::Prober> pProber, Stats::Counters& counters);
	~Runtime();

	Runtime(const Runtime&) = delete;
	Runtime& operator=(const Runtime&) = delete;

	void start();
		/// First health round now, then the timer; the pool starts filling.
	void stop();
		/// Stops probing and empties the pool. Idempotent; sessions using it are unaffected.

	const Config::Settings& settings() const { return *_pSettings; }
	std::shared_ptr<const Config::Settings> settingsPtr() const { return _pSettings; }
	Health::HealthMonitor& monitor() { return *_pMonitor; }
	Pool::UpstreamPool& pool() { return *_pPool; }

private:
	std::shared_ptr<const Config::Settings> _pSettings;
	std::unique_ptr<Health::Prober> _pProber;
	std::unique_ptr<Health::HealthMonitor> _pMonitor;
	std::unique_ptr<Pool::UpstreamPool> _pPool;
};

} } // namespace ForwardOptimal::Proxy
