#include "app/Service.h"

#include "admin/AdminServer.h"
#include "health/TcpProber.h"
#include "pool/UpstreamPool.h"
#include "proxy/ProxyServer.h"
#include "proxy/Runtime.h"

#include "Poco/Bugcheck.h"

#include <algorithm>
#include <thread>

namespace ForwardOptimal {
namespace App {

POCO_IMPLEMENT_EXCEPTION(AdminListenException, Poco::IOException, "Cannot listen on the admin address")


Service::Service(std::shared_ptr<const Config::Settings> pSettings):
	_context(makeRuntime(pSettings, _counters), _counters),
	_pProxy(std::make_unique<Proxy::ProxyServer>(*pSettings, _context))
{
	if (!pSettings->adminEnabled)
		return;
	try
	{
		_pAdmin = std::make_unique<Admin::AdminServer>(pSettings->adminAddr, [this] { return view(); });
	}
	catch (const Poco::Exception& error)
	{
		// Only the operator's own choice is worth refusing to start for: the default is a
		// convenience, and a second instance started from the spec's keys alone must still serve.
		if (pSettings->adminAddrExplicit)
			throw AdminListenException(error.message(), error.code());
		_adminUnavailable = error.message();
	}
}


Service::~Service()
{
	try
	{
		stop();
	}
	catch (...)
	{
		poco_unexpected();
	}
}


std::shared_ptr<Proxy::Runtime> Service::makeRuntime(std::shared_ptr<const Config::Settings> pSettings,
	Stats::Counters& counters)
{
	auto pProber = std::make_unique<Health::TcpProber>(pSettings->proxyProtocol, pSettings->probeMode);
	return std::make_shared<Proxy::Runtime>(std::move(pSettings), std::move(pProber), counters);
}


void Service::start()
{
	_context.runtime()->start();
	_pProxy->start();
	if (_pAdmin)
		_pAdmin->start();
}


void Service::reload(std::shared_ptr<const Config::Settings> pNext)
{
	std::shared_ptr<Proxy::Runtime> pRuntime = makeRuntime(std::move(pNext), _counters);
	pRuntime->start();
	_context.replace(pRuntime)->stop();
}


void Service::stopAccepting()
{
	_pProxy->stopAccepting();
}


std::int64_t Service::drain(std::chrono::milliseconds timeout, const std::function<bool(std::chrono::milliseconds)>& wait)
{
	constexpr std::chrono::milliseconds STEP(100);
	stopAccepting();
	auto deadline = std::chrono::steady_clock::now() + timeout;
	for (auto now = std::chrono::steady_clock::now(); activeSessions() > 0 && now < deadline; now = std::chrono::steady_clock::now())
	{
		auto step = std::min<std::chrono::milliseconds>(STEP, std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
		if (!wait)
			std::this_thread::sleep_for(step);
		else if (wait(step))
			break;
	}
	return activeSessions();
}


void Service::stop()
{
	if (_stopped)
		return;
	_stopped = true;
	_pProxy->stop();
	if (_pAdmin)
		_pAdmin->stop(); // after the proxy: /metrics stays readable until the last session ends
	_context.runtime()->stop();
}


Admin::AdminView Service::view() const
{
	_pProxy->syncCounters();
	std::shared_ptr<Proxy::Runtime> pRuntime = runtime();
	Admin::AdminView view;
	view.pSnapshot = pRuntime->monitor().snapshot();
	view.pSettings = pRuntime->settingsPtr();
	view.pCounters = &_counters;
	if (const Health::TargetStatus* pBest = view.pSnapshot->best())
	{
		view.poolIdle = pRuntime->pool().idleCount(pBest->target);
		view.poolMaxIdle = pRuntime->pool().maxIdle(pBest->target);
		view.poolLearnedLifetime = pRuntime->pool().learnedLifetime(pBest->target);
	}
	else
		view.poolMaxIdle = view.pSettings->poolMaxIdle;
	view.poolWarm = pRuntime->pool().warm();
	view.poolPreconnectDisabled = pRuntime->pool().preconnectDisabled();
	Proxy::PipePool::Usage pipes = _context.pipes.usage();
	view.splicePipesInUse = pipes.inUse;
	view.splicePipesIdle = pipes.idle;
	view.splicePipesMax = pipes.max;
	view.started = _started;
	return view;
}


std::shared_ptr<Proxy::Runtime> Service::runtime() const
{
	return _context.runtime();
}


std::shared_ptr<const Config::Settings> Service::settings() const
{
	return _context.runtime()->settingsPtr();
}


Poco::Net::SocketAddress Service::proxyAddress() const
{
	return _pProxy->address();
}


std::optional<Poco::Net::SocketAddress> Service::adminAddress() const
{
	if (!_pAdmin)
		return std::nullopt;
	return _pAdmin->address();
}

} } // namespace ForwardOptimal::App
