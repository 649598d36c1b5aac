#include "health/HealthReport.h"

#include "health/Selector.h"

#include "Poco/DateTimeFormatter.h"
#include "Poco/LocalDateTime.h"

#include <cstdio>
#include <sstream>

namespace ForwardOptimal {
namespace Health {

std::string HealthReport::latency(double milliseconds)
{
	// Three significant digits are plenty for a connect time, and no trailing zeros: 50ms, 12.5ms, 0.42ms.
	char buffer[32];
	const char* format = milliseconds >= 100 ? "%.0f" : milliseconds >= 10 ? "%.1f" : "%.2f";
	std::snprintf(buffer, sizeof buffer, format, milliseconds);
	std::string text = buffer;
	if (text.find('.') != std::string::npos)
	{
		text.erase(text.find_last_not_of('0') + 1);
		if (text.back() == '.')
			text.pop_back();
	}
	return text + "ms";
}


std::string HealthReport::seconds(std::chrono::milliseconds value)
{
	std::ostringstream out;
	out << static_cast<double>(value.count()) / 1000.0;
	return out.str();
}


std::string HealthReport::targetLine(const TargetStatus& status, const Config::Settings& settings)
{
	std::string name = status.target.toString();
	if (!status.probed)
		return "⏳ 未检查 " + name;
	if (!status.healthy)
		return "❌ 离线 " + name + " (原因: " + status.lastError + ")";
	if (!Selector::usable(status, settings))
		return "⚠️ 过慢 " + name + " (延迟: " + latency(status.smoothedLatencyMs) + " > maxLatency "
			+ latency(settings.maxLatencyMs) + ")";
	return "✅ 在线 " + name + " (延迟: " + latency(status.smoothedLatencyMs) + ")";
}


std::string HealthReport::addressLine(const AddressStatus& address, bool best, const Config::Settings& settings)
{
	std::string text = "↳ ";
	if (!address.probed)
		text += "⏳ 未检查 " + address.text;
	else if (!address.healthy)
		text += "❌ 离线 " + address.text + " (原因: " + address.lastError + ")";
	else if (!Selector::usable(address, settings))
		text += "⚠️ 过慢 " + address.text + " (延迟: " + latency(address.smoothedLatencyMs) + ")";
	else
		text += "✅ 在线 " + address.text + " (延迟: " + latency(address.smoothedLatencyMs) + ")";
	return best ? text + " ← 当前使用" : text;
}


std::string HealthReport::connectionLine(const Stats::Counters& counters)
{
	std::uint64_t hits = counters.poolHits, misses = counters.poolMisses;
	return "活动 " + std::to_string(counters.activeSessions.load()) + ", 累计 " + std::to_string(counters.accepted.load())
		+ ", 暂停时拒绝 " + std::to_string(counters.refusedNoTarget.load())
		+ ", 无法连接上游 " + std::to_string(counters.refusedNoUpstream.load())
		+ ", 过载拒绝 " + std::to_string(counters.refusedOverload.load())
		+ ", 来源超限拒绝 " + std::to_string(counters.refusedPerSource.load())
		+ ", 资源不足拒绝 " + std::to_string(counters.refusedNoResources.load())
		+ ", 上游失败 " + std::to_string(counters.upstreamFailures.load())
		+ ", 故障转移 " + std::to_string(counters.failovers.load())
		+ ", 连接池命中 " + std::to_string(hits) + "/" + std::to_string(hits + misses);
}


std::string HealthReport::render(const HealthSnapshot& snapshot, const Config::Settings& settings,
	std::chrono::milliseconds nextCheck, const Stats::Counters* pCounters)
{
	const std::string rule = "==============================";
	const TargetStatus* best = snapshot.best();
	std::string ok = best ? "✓" : "✗";
	std::ostringstream out;
	out << "\n" << rule << "\n"
		<< "节点健康检查报告 - " << Poco::DateTimeFormatter::format(Poco::LocalDateTime(snapshot.at), "%Y-%m-%d %H:%M:%S") << "\n";
	if (best)
		out << "✓ 最优目标: " << best->target.toString() << " (延迟: " << latency(best->smoothedLatencyMs) << ")\n";
	else
		out << "✗ 最优目标: 无\n";
	out << ok << " 健康节点: " << snapshot.healthyCount() << "/" << snapshot.targets.size() << "\n"
		<< ok << " 服务状态: " << (best ? "正常运行" : "已暂停 (无健康节点, 新连接将被立即关闭)") << "\n"
		<< "✓ 下次检查: " << seconds(nextCheck) << "秒后\n"
		<< "✓ Proxy Protocol: " << (settings.proxyProtocol == Config::ProxyProtocol::NONE
			? std::string("未启用") : Config::toString(settings.proxyProtocol)) << "\n"
		;
	if (pCounters)
		out << "✓ 连接统计: " << connectionLine(*pCounters) << "\n";
	out << "--- 节点详细状态 ---\n";
	for (const auto& status : snapshot.targets)
	{
		out << "  " << targetLine(status, settings) << "\n";
		if (status.addresses.size() > 1)
			for (const auto& address : status.addresses)
				out << "      " << addressLine(address, &address == status.bestAddress(), settings) << "\n";
	}
	out << rule;
	return out.str();
}

} } // namespace ForwardOptimal::Health
