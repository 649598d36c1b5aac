#pragma once

#include "config/Settings.h"
#include "health/HealthSnapshot.h"
#include "stats/Counters.h"

#include <chrono>
#include <string>

namespace ForwardOptimal {
namespace Health {

/// The spec's health report block (节点健康检查报告) and the wording shared with the state-change
/// lines. Pure text functions; thread-safe.
class HealthReport
{
public:
	static std::string render(const HealthSnapshot& snapshot, const Config::Settings& settings,
		std::chrono::milliseconds nextCheck, const Stats::Counters* pCounters = nullptr);
		/// The multi-line report, starting with a newline so the block lines up in the log;
		/// with counters, a connection statistics line too (the spec's 连接统计).

	static std::string connectionLine(const Stats::Counters& counters);
		/// One line of the counters: active and accepted sessions, each kind of refusal
		/// (暂停时拒绝, 无法连接上游, 过载拒绝, 来源超限拒绝, 资源不足拒绝), upstream failures,
		/// failovers and pool hits out of pool acquisitions, in that order.

	static std::string latency(double milliseconds);
		/// "50ms", "12.5ms", "0.42ms".

	static std::string seconds(std::chrono::milliseconds value);
		/// "60", "0.5".

	static std::string targetLine(const TargetStatus& status, const Config::Settings& settings);
		/// "✅ 在线 host:port (延迟: 50ms)" / "❌ 离线 host:port (原因: connection refused)".

	static std::string addressLine(const AddressStatus& address, bool best, const Config::Settings& settings);
		/// One address of a name with several, shown under the name's line in the report:
		/// "↳ ✅ [2001:db8::1]:22 (延迟: 5ms) ← 当前使用" / "↳ ❌ 198.18.0.1:22 (原因: timeout after 5s)".
};

} } // namespace ForwardOptimal::Health
