#include "proxy/PipePool.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <string>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace ForwardOptimal {
namespace Proxy {

namespace {

// What the kernel gives a new pipe unless the user is over its soft limit: PIPE_DEF_BUFFERS pages.
std::size_t defaultPipeBytes()
{
	long page = ::sysconf(_SC_PAGESIZE);
	return 16 * static_cast<std::size_t>(page > 0 ? page : 4096);
}

} // namespace


PipePool::PipePool(std::size_t maxPipes, std::size_t maxIdle, std::atomic<std::uint64_t>& fallbacks):
	_maxPipes(maxPipes),
	_maxIdle(std::min(maxIdle, maxPipes)),
	_fallbacks(fallbacks),
	_minBytes(defaultPipeBytes())
{
	_idle.reserve(_maxIdle);
}


PipePool::~PipePool()
{
	for (const Pipe& pipe : _idle)
		close(pipe);
}


Pipe PipePool::acquire()
{
	{
		std::lock_guard<std::mutex> lock(_mutex);
		if (!_idle.empty())
		{
			Pipe pipe = _idle.back();
			_idle.pop_back();
			++_inUse;
			return pipe;
		}
		if (_inUse + _idle.size() >= _maxPipes)
		{
			_fallbacks.fetch_add(1, std::memory_order_relaxed);
			return Pipe();
		}
		++_inUse; // the place is taken while pipe2() runs
	}
	int ends[2];
	if (::pipe2(ends, O_NONBLOCK | O_CLOEXEC) == 0)
	{
		if (fullSize(ends[0]))
			return Pipe{ends[0], ends[1]};
		close(Pipe{ends[0], ends[1]});
	}
	{
		std::lock_guard<std::mutex> lock(_mutex);
		--_inUse;
	}
	_fallbacks.fetch_add(1, std::memory_order_relaxed);
	return Pipe();
}


void PipePool::release(Pipe pipe)
{
	if (!pipe.valid())
		return;
	int held = 0;
	bool empty = ::ioctl(pipe.readEnd, FIONREAD, &held) == 0 && held == 0;
	{
		std::lock_guard<std::mutex> lock(_mutex);
		--_inUse;
		if (empty && _idle.size() < _maxIdle)
		{
			_idle.push_back(pipe);
			return;
		}
	}
	close(pipe);
}


void PipePool::discard(Pipe pipe)
{
	if (!pipe.valid())
		return;
	{
		std::lock_guard<std::mutex> lock(_mutex);
		--_inUse;
	}
	close(pipe);
}


PipePool::Usage PipePool::usage() const
{
	std::lock_guard<std::mutex> lock(_mutex);
	return Usage{_inUse, _idle.size(), _maxPipes};
}


std::size_t PipePool::sessionDescriptors(const Config::Settings& settings)
{
	return 2 * static_cast<std::size_t>(settings.maxConnections) + settings.maxQueued + settings.poolSize
		+ settings.targets.size() + 64;
}


std::size_t PipePool::capacityFor(std::size_t descriptorLimit, const Config::Settings& settings)
{
	std::size_t needed = sessionDescriptors(settings);
	if (descriptorLimit <= needed)
		return 0;
	return std::min((descriptorLimit - needed) / 4, 2 * static_cast<std::size_t>(settings.maxConnections));
}


std::size_t PipePool::capacityFor(const Config::Settings& settings)
{
	rlimit limit{};
	if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
		return 0;
	std::size_t descriptors = limit.rlim_cur == RLIM_INFINITY ? static_cast<std::size_t>(1) << 20
		: static_cast<std::size_t>(limit.rlim_cur);
	return capacityFor(descriptors, settings);
}


bool PipePool::fullSize(int readEnd)
{
	int bytes = ::fcntl(readEnd, F_GETPIPE_SZ);
	if (bytes < 0 || static_cast<std::size_t>(bytes) >= _minBytes)
		return true; // a kernel that cannot tell: use it
	if (!_warnedSmall.exchange(true))
		Poco::Logger::get("ForwardOptimal.Proxy.PipePool").warning("⚠️  splice: the kernel made a new pipe of only "
			+ std::to_string(bytes) + " bytes (this user's pipes reached fs.pipe-user-pages-soft, across all its"
			" processes): directions that get no full-size pipe copy instead (forwardoptimal_splice_fallbacks_total);"
			" raise that sysctl or lower the number of concurrent bulk sessions. Said once.");
	return false;
}


void PipePool::close(Pipe pipe)
{
	::close(pipe.readEnd);
	::close(pipe.writeEnd);
}

} } // namespace ForwardOptimal::Proxy
