// Concurrent acquire/release throughput of the per-source limiter, for docs/benchmarks.md:
//   fo_limiter_bench [THREADS=4] [SECONDS=2] [SOURCES=64]
// THREADS threads each take and give back leases as fast as they can, round robin over
// SOURCES loopback addresses (127.0.0.2 ...), with a limit no one reaches: the accept filter's
// path (one lock, one hash lookup; the address comes from accept()) and the session's release.
// Built against this tree's Net::SourceLimiter; compiled with -DFO_SHARDED_LIMITER against
// an older tree's Proxy::SourceLimiter (16 shards, which took a connected socket and asked
// getpeername) it measures that one over real connections, for comparison.
#ifdef FO_SHARDED_LIMITER
#include "proxy/SourceLimiter.h"
using Limiter = ForwardOptimal::Proxy::SourceLimiter;
using Source = int; // the accepted socket
#else
#include "net/MappedAddress.h"
#include "net/SourceLimiter.h"
#include "Poco/Net/IPAddress.h"
using Limiter = ForwardOptimal::Net::SourceLimiter;
using Source = ForwardOptimal::Net::MappedAddress;
#endif

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef FO_SHARDED_LIMITER
namespace {

int listenOnLoopback(sockaddr_in& address)
{
	int fd = ::socket(AF_INET, SOCK_STREAM, 0);
	address = {};
	address.sin_family = AF_INET;
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t length = sizeof address;
	if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 1024) != 0
		|| ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
	{
		std::perror("listen");
		std::exit(1);
	}
	return fd;
}

// The accepted side of a connection from 127.0.0.(2 + index).
int acceptedFrom(int listener, const sockaddr_in& address, int index, std::vector<int>& keep)
{
	int client = ::socket(AF_INET, SOCK_STREAM, 0);
	sockaddr_in source{};
	source.sin_family = AF_INET;
	source.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + static_cast<unsigned>(index));
	if (::bind(client, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0
		|| ::connect(client, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
	{
		std::perror("connect");
		std::exit(1);
	}
	keep.push_back(client);
	int accepted = ::accept(listener, nullptr, nullptr);
	keep.push_back(accepted);
	return accepted;
}

} // namespace
#endif

int main(int argc, char** argv)
{
	int threads = argc > 1 ? std::atoi(argv[1]) : 4;
	double seconds = argc > 2 ? std::atof(argv[2]) : 2.0;
	int sources = argc > 3 ? std::atoi(argv[3]) : 64;
	std::vector<Source> fds;
#ifdef FO_SHARDED_LIMITER
	std::vector<int> keep;
	sockaddr_in address{};
	int listener = listenOnLoopback(address);
	for (int i = 0; i < sources; ++i)
		fds.push_back(acceptedFrom(listener, address, i, keep));
#else
	for (int i = 0; i < sources; ++i)
		fds.push_back(Source(Poco::Net::IPAddress("127.0.0." + std::to_string(2 + i % 250))));
#endif

	Limiter limiter;
	std::atomic<bool> stop{false};
	std::atomic<long> operations{0};
	std::vector<std::thread> workers;
	for (int t = 0; t < threads; ++t)
		workers.emplace_back([&, t] {
			long done = 0;
			for (std::size_t i = static_cast<std::size_t>(t); !stop.load(std::memory_order_relaxed); ++i)
			{
				auto lease = limiter.acquire(fds[i % fds.size()], 1000000);
				if (!lease)
					std::abort();
				++done;
			}
			operations += done;
		});
	std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
	stop = true;
	for (auto& worker : workers)
		worker.join();
	std::printf("threads %d, sources %d: %.0f acquire+release per second\n", threads, sources,
		static_cast<double>(operations.load()) / seconds);
#ifdef FO_SHARDED_LIMITER
	for (int fd : keep)
		::close(fd);
	::close(listener);
#endif
	return 0;
}
