#pragma once

#include "config/Settings.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace ForwardOptimal {
namespace Proxy {

/// A pipe for splice(2): both ends non-blocking and close-on-exec; -1 when there is none.
struct Pipe
{
	int readEnd = -1;
	int writeEnd = -1;

	bool valid() const { return readEnd >= 0; }
};

/// The pipes the relay splices through, shared by every session of the process.
/// - Lazy and bounded: pipe2() runs when no idle pipe is left, and at most `maxPipes` pipes exist
///   at once (in use or idle, two descriptors each). acquire() returns no pipe when that many
///   are in use or pipe2() fails (out of descriptors): the direction copies instead, and
///   `fallbacks` counts it. capacityFor() sizes `maxPipes` from the descriptor budget.
/// - Full-size only: a new pipe smaller than usual (16 pages) is closed and counted as a fallback too.
///   The kernel makes a new pipe 2 pages instead of 16 once an unprivileged user's pipes hold
///   `fs.pipe-user-pages-soft` pages (16,384 by default: 1,024 pipes of 64 KiB, across every
///   process of that user, e.g. systemd's DynamicUser); splicing 2 pages at a time costs more
///   than copying. The first such pipe logs a warning once.
/// - Reused: a released pipe is kept for the next acquire(), up to `maxIdle` idle pipes; beyond
///   that it is closed.
/// - Clean: a pipe goes back only empty. release() asks the kernel (FIONREAD) and closes a pipe
///   that still holds bytes: they belong to one session's stream and must never reach another.
/// Thread-safe: one mutex around a vector; pipe2() and close() run outside it.
class PipePool
{
public:
	struct Usage
	{
		std::size_t inUse = 0;  /// held by relay directions now
		std::size_t idle = 0;   /// kept for reuse
		std::size_t max = 0;    /// maxPipes
	};

	static constexpr std::size_t MAX_IDLE = 64;
		/// Idle pipes kept by default (128 descriptors): enough for bursts of bulk sessions.

	PipePool(std::size_t maxPipes, std::size_t maxIdle, std::atomic<std::uint64_t>& fallbacks);
		/// `fallbacks` is incremented for each acquire() that returns no pipe; it must outlive
		/// the pool.
	~PipePool();
		/// Closes the idle pipes. Pipes still in use are their holders' to release first.

	PipePool(const PipePool&) = delete;
	PipePool& operator=(const PipePool&) = delete;

	Pipe acquire();
		/// An idle pipe, a new one, or none (see above).
	void release(Pipe pipe);
		/// Gives back a pipe from acquire(): kept if empty and fewer than maxIdle are idle,
		/// closed otherwise. An invalid pipe is ignored.
	void discard(Pipe pipe);
		/// Closes a pipe from acquire() that holds bytes nobody will read (its session ended).

	Usage usage() const;
		/// In use, idle and the maximum, read together.

	static std::size_t sessionDescriptors(const Config::Settings& settings);
		/// What the process needs without pipes: two per session (maxConnections), one per
		/// queued client (maxQueued), the upstream pool, one probe per target, and 64 for the
		/// listeners, the admin endpoint, logs and the resolver. The start-up check
		/// (RLIMIT_NOFILE) uses the same sum.
	static std::size_t capacityFor(std::size_t descriptorLimit, const Config::Settings& settings);
		/// maxPipes for RLIMIT_NOFILE `descriptorLimit`: a quarter of what sessionDescriptors()
		/// leaves (half of the spare descriptors, two per pipe; the other half stays for
		/// whatever else wants one), and never more than two per session. 0 when nothing is left.
	static std::size_t capacityFor(const Config::Settings& settings);
		/// The same for this process's RLIMIT_NOFILE (soft limit) now.

private:
	static void close(Pipe pipe);
	bool fullSize(int readEnd);

	const std::size_t _maxPipes;
	const std::size_t _maxIdle;
	std::atomic<std::uint64_t>& _fallbacks;
	const std::size_t _minBytes;  // what the kernel gives a new pipe normally: 16 pages
	std::atomic<bool> _warnedSmall{false};
	mutable std::mutex _mutex;
	std::vector<Pipe> _idle;    // guarded by _mutex
	std::size_t _inUse = 0;     // guarded by _mutex; includes pipes being created
};

} } // namespace ForwardOptimal::Proxy
