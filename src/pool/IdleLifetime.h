#pragma once

#include <chrono>
#include <optional>

namespace ForwardOptimal {
namespace Pool {

/// Learns how long a server keeps a silent connection open, from the pooled connections it
/// closed, so the pool can hand them out while the client still has time to use them.
///
/// A server with an idle or login timeout shorter than `poolMaxIdle` (OpenSSH's
/// LoginGraceTime, a PROXY receiver's header timeout, a load balancer's idle timeout) closes
/// pooled connections at a fixed age T. Without this, the pool hands out connections up to age
/// T, and a client that gets one just before T is dropped before its first bytes arrive. With
/// a learned T the pool replaces its connections at T/2: every client gets at least half of the
/// server's window.
///
/// One closure event is no evidence (a server restart closes every connection at once, at any
/// age), so a lifetime is learned only when two closure events about a lifetime apart (at
/// least half of it, at most twice it and a second) agree within a quarter. It is forgotten
/// after FORGET_AFTER, and learned again if the server still closes connections early. Not
/// thread-safe: the pool guards it with its mutex.
class IdleLifetime
{
public:
	using Clock = std::chrono::steady_clock;

	static constexpr std::chrono::minutes FORGET_AFTER{10};

	bool closedByPeer(std::chrono::milliseconds age, Clock::time_point now);
		/// Records one event: the server closed idle pooled connections, the oldest of them
		/// `age` old (call once per check, not once per connection). True when this event
		/// confirms a lifetime that differs from the last one learned (worth a log line).

	std::optional<std::chrono::milliseconds> lifetime(Clock::time_point now) const;
		/// The learned lifetime, if there is one and it is not forgotten yet.

	std::chrono::milliseconds maxIdle(std::chrono::milliseconds configured, Clock::time_point now) const;
		/// The age at which a pooled connection is replaced: `configured`, or half the learned
		/// lifetime if that is shorter.

private:
	struct Event
	{
		std::chrono::milliseconds age;
		Clock::time_point at;
	};

	std::optional<Event> _candidate;    // the last event not yet confirmed
	std::optional<Event> _learned;      // `age` is the lifetime, `at` when it was confirmed
};

} } // namespace ForwardOptimal::Pool
