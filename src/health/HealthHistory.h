#pragma once

#include "Poco/Timestamp.h"

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace ForwardOptimal {
namespace Health {

/// What one health round saw, per target in configuration order.
struct RoundRecord
{
	Poco::Timestamp at;                 /// when the round was published
	std::uint64_t round = 0;
	std::vector<bool> up;               /// healthy after the round
	std::vector<double> latencyMs;      /// the round's probe latency; -1 = the probe failed
};

/// One change of state, as the log reports it, but structured.
struct StateChange
{
	enum class Kind { UP, DOWN, BEST, PAUSED };

	Poco::Timestamp at;
	Kind kind = Kind::UP;
	std::string target;                 /// empty for PAUSED
	std::string reason;                 /// latency, probe error, or why the best changed

	static const char* name(Kind kind);
		/// "up", "down", "best", "paused".
};

/// The recent past of the health rounds: a bounded ring of the last rounds and of the last
/// state changes, oldest first. Immutable once published: HealthMonitor publishes a new one
/// with each snapshot and shares the unchanged records, so a copy costs a few pointer copies.
class HealthHistory
{
public:
	static constexpr std::size_t MAX_ROUNDS = 120;
	static constexpr std::size_t MAX_CHANGES = 50;

	const std::deque<std::shared_ptr<const RoundRecord>>& rounds() const { return _rounds; }
		/// The last MAX_ROUNDS rounds, oldest first.
	const std::deque<std::shared_ptr<const StateChange>>& changes() const { return _changes; }
		/// The last MAX_CHANGES state changes, oldest first.

	std::shared_ptr<const HealthHistory> with(std::shared_ptr<const RoundRecord> pRound,
		const std::vector<StateChange>& changes) const;
		/// A copy with `pRound` (if any) and `changes` appended, the oldest dropped beyond the bounds.

private:
	std::deque<std::shared_ptr<const RoundRecord>> _rounds;
	std::deque<std::shared_ptr<const StateChange>> _changes;
};

} } // namespace ForwardOptimal::Health
