#include "health/HealthHistory.h"

namespace ForwardOptimal {
namespace Health {

const char* StateChange::name(Kind kind)
{
	switch (kind)
	{
	case Kind::UP: return "up";
	case Kind::DOWN: return "down";
	case Kind::BEST: return "best";
	case Kind::PAUSED: return "paused";
	}
	return "unknown";
}


std::shared_ptr<const HealthHistory> HealthHistory::with(std::shared_ptr<const RoundRecord> pRound,
	const std::vector<StateChange>& changes) const
{
	auto pNext = std::make_shared<HealthHistory>(*this);
	if (pRound)
	{
		pNext->_rounds.push_back(std::move(pRound));
		while (pNext->_rounds.size() > MAX_ROUNDS)
			pNext->_rounds.pop_front();
	}
	for (const auto& change : changes)
		pNext->_changes.push_back(std::make_shared<const StateChange>(change));
	while (pNext->_changes.size() > MAX_CHANGES)
		pNext->_changes.pop_front();
	return pNext;
}

} } // namespace ForwardOptimal::Health
