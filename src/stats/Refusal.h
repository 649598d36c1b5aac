#pragma once

#include "stats/Counters.h"

#include <array>
#include <cstddef>

namespace ForwardOptimal {
namespace Stats {

/// Why a client was let go before it was relayed. Each reason has one row in REFUSALS; the
/// session, the accept filter, /metrics and /status all go through that table (as Envoy's
/// tcp_proxy does with its UpstreamFailureReason), so a new reason is one enumerator and one row.
enum class Refusal
{
	PER_SOURCE,    /// at accept: the client's address had maxConnectionsPerSource connections
	OVERLOAD,      /// by the TCPServer: threads and queue full (its count, copied by ProxyServer)
	NO_TARGET,     /// no healthy target: the service is paused
	NO_RESOURCES,  /// this process was out of descriptors or memory for the upstream socket
	NO_UPSTREAM,   /// no target could be connected
	PROXY_HEADER_MISSING,  /// a trusted balancer's connection did not start with a PROXY header
	PROXY_HEADER_INVALID,  /// ... started with one that breaks the spec
	PROXY_HEADER_TIMEOUT,  /// ... did not bring a whole header within proxyHeaderTimeout
	PROXY_LOCAL,   /// a balancer's LOCAL header (its health check): closed quietly, not an error
};

/// One row of the refusal table.
struct RefusalInfo
{
	Refusal reason;
	std::atomic<std::uint64_t> Counters::* counter;  /// the counter the refusal increments
	const char* logText;      /// what the log line says; null: this process never logs it
	                          /// (the TCPServer closes overload refusals itself; a LOCAL
	                          /// health check is closed quietly)
	const char* metricLabel;  /// reason="..." of forwardoptimal_connections_refused_total
	const char* statusKey;    /// its key under "connections" in /status
};

inline constexpr std::array<RefusalInfo, 9> REFUSALS = {{
	{Refusal::PER_SOURCE, &Counters::refusedPerSource, "来源地址的并发连接数已达上限 (maxConnectionsPerSource)",
		"per_source_limit", "refusedPerSourceLimit"},
	{Refusal::OVERLOAD, &Counters::refusedOverload, nullptr,
		"overload", "refusedOverload"},
	{Refusal::NO_TARGET, &Counters::refusedNoTarget, "服务已暂停 (没有健康的目标节点)",
		"no_healthy_target", "refusedNoHealthyTarget"},
	{Refusal::NO_RESOURCES, &Counters::refusedNoResources, "本进程资源不足 (文件描述符或内存)",
		"resource_shortage", "refusedResourceShortage"},
	{Refusal::NO_UPSTREAM, &Counters::refusedNoUpstream, "没有可连接的目标节点",
		"no_reachable_target", "refusedNoReachableTarget"},
	{Refusal::PROXY_HEADER_MISSING, &Counters::refusedProxyHeaderMissing, "可信负载均衡器的连接没有 PROXY 头 (acceptProxyProtocol)",
		"proxy_header_missing", "refusedProxyHeaderMissing"},
	{Refusal::PROXY_HEADER_INVALID, &Counters::refusedProxyHeaderInvalid, "可信负载均衡器发来的 PROXY 头无效 (acceptProxyProtocol)",
		"proxy_header_invalid", "refusedProxyHeaderInvalid"},
	{Refusal::PROXY_HEADER_TIMEOUT, &Counters::refusedProxyHeaderTimeout, "可信负载均衡器未在时限内发来完整的 PROXY 头 (proxyHeaderTimeout)",
		"proxy_header_timeout", "refusedProxyHeaderTimeout"},
	{Refusal::PROXY_LOCAL, &Counters::proxyLocal, nullptr,
		"proxy_local", "closedProxyLocal"},
}};

constexpr const RefusalInfo& describe(Refusal reason)
	/// The row of `reason`.
{
	return REFUSALS[static_cast<std::size_t>(reason)];
}

constexpr bool refusalRowsInOrder()
{
	for (std::size_t i = 0; i < REFUSALS.size(); ++i)
		if (static_cast<std::size_t>(REFUSALS[i].reason) != i)
			return false;
	return true;
}

static_assert(refusalRowsInOrder(), "REFUSALS must list the reasons in the order of enum class Refusal: describe() indexes it");

} } // namespace ForwardOptimal::Stats
