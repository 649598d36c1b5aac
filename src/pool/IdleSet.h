#pragma once

#include "Poco/Net/StreamSocket.h"

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace ForwardOptimal {
namespace Pool {

/// The idle pre-connected sockets of one target, oldest first, and the one check that decides
/// which of them may still be handed out. Both the hand-out (take) and the background sweep
/// use it, and both get back what was dropped and why, so the pool learns from the same
/// evidence either way. Nothing here blocks: a check is one `poll` and one `MSG_PEEK`.
///
/// A socket the peer closed within REFUSAL_AGE of the connect is a refusal (an error
/// greeting such as MariaDB's "Host … is blocked", or an accept-and-close): the server did
/// not keep it open at all, so it says nothing about an idle timeout. One closed later is an
/// idle closure, and its age is evidence for IdleLifetime.
///
/// Not thread-safe: the pool guards it with its mutex. The dropped sockets are returned, not
/// closed, so the caller closes them after releasing its lock.
class IdleSet
{
public:
	using Clock = std::chrono::steady_clock;

	static constexpr std::chrono::milliseconds REFUSAL_AGE{250};

	struct Discarded
	{
		std::vector<Poco::Net::StreamSocket> sockets; /// to close outside the lock (destroying them does)
		std::size_t tooOld = 0;          /// reached maxIdle unused
		std::size_t closed = 0;          /// closed by the peer after REFUSAL_AGE: an idle timeout
		std::chrono::milliseconds oldestClosed{0}; /// the age of the oldest of those
		std::size_t refused = 0;         /// closed by the peer within REFUSAL_AGE of the connect
		std::string refusalText;         /// what the first refused socket with data had received (printable)
		std::size_t settled = 0;         /// sockets that have now lived past REFUSAL_AGE (kept)

		std::size_t count() const { return tooOld + closed + refused; }
	};

	void add(Poco::Net::StreamSocket socket, Clock::time_point connected);
		/// A freshly connected socket; its age counts from `connected`.

	std::optional<Poco::Net::StreamSocket> take(std::chrono::milliseconds maxIdle, Clock::time_point now, Discarded& discarded);
		/// The oldest socket that is still good, removed from the set; those found dead or too
		/// old on the way are moved into `discarded`.

	Discarded sweep(std::chrono::milliseconds maxIdle, Clock::time_point now);
		/// Checks every socket and drops the dead and the too old.

	Discarded clear();
		/// Drops every socket (counted as too old: the pool no longer wants them).

	std::size_t size() const { return _idle.size(); }
	bool empty() const { return _idle.empty(); }

	std::optional<Clock::time_point> nextCheck(std::chrono::milliseconds maxIdle) const;
		/// When a sweep has something to do without any event: the first socket reaches
		/// maxIdle, or a new one is old enough to count as settled. None when empty.

	bool hasUnsettled() const;
		/// Whether some socket is younger than REFUSAL_AGE, as far as the last check knows.

	std::vector<int> descriptors() const;
		/// The sockets' descriptors, to wait for a peer's close on (POLLRDHUP).

private:
	struct Idle
	{
		Poco::Net::StreamSocket socket;
		Clock::time_point since;
		bool settled = false;
	};

	enum class Verdict { KEEP, DROPPED };

	static Verdict judge(Idle& idle, std::chrono::milliseconds maxIdle, Clock::time_point now, Discarded& discarded);

	std::deque<Idle> _idle;
};

} } // namespace ForwardOptimal::Pool
