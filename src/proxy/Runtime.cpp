#include "proxy/Runtime.h"

namespace ForwardOptimal {
namespace Proxy {

Runtime::Runtime(std::shared_ptr<const Config::Settings> pSettings, std::unique_ptr<Health::Prober> pProber,
	Stats::Counters& counters):
	_pSettings(std::move(pSettings)),
	_pProber(std::move(pProber)),
	_pMonitor(std::make_unique<Health::HealthMonitor>(_pSettings, *_pProber, &counters)),
	_pPool(std::make_unique<Pool::UpstreamPool>(_pSettings, *_pMonitor, counters))
{
}


Runtime::~Runtime()
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


void Runtime::start()
{
	_pMonitor->start();
	_pPool->start();
}


void Runtime::stop()
{
	_pPool->stop();
	_pMonitor->stop();
}

} } // namespace ForwardOptimal::Proxy
