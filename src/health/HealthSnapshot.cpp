#include "health/HealthSnapshot.h"

#include <algorithm>

namespace ForwardOptimal {
namespace Health {

std::size_t HealthSnapshot::healthyCount() const
{
	return static_cast<std::size_t>(std::count_if(targets.begin(), targets.end(),
		[](const TargetStatus& status) { return status.healthy; }));
}

} } // namespace ForwardOptimal::Health
