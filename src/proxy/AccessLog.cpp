#include "proxy/AccessLog.h"

#include "Poco/Exception.h"
#include "Poco/JSON/Object.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace ForwardOptimal {
namespace Proxy {

namespace {

// The client as the line shows it: 0.0.0.0:0 when it was never known (reset before a look).
std::string clientText(const SessionRecord& record)
{
	return record.clientAddress ? record.clientAddress->toString() : std::string("0.0.0.0:0");
}

const char* proxyHeaderName(Config::ProxyProtocol version)
{
	switch (version)
	{
	case Config::ProxyProtocol::V1: return "v1";
	case Config::ProxyProtocol::V2: return "v2";
	case Config::ProxyProtocol::NONE: break;
	}
	return "none";
}

// Milliseconds with microsecond precision.
double durationMs(const SessionRecord& record)
{
	auto us = std::chrono::duration_cast<std::chrono::microseconds>(record.duration).count();
	return static_cast<double>(us) / 1000.0;
}

std::string orDash(const std::string& text)
{
	return text.empty() ? std::string("-") : text;
}

} // namespace


const char* toString(SessionEnd end)
{
	switch (end)
	{
	case SessionEnd::COMPLETED: return "completed";
	case SessionEnd::IDLE_TIMEOUT: return "idle_timeout";
	case SessionEnd::CLIENT_ERROR: return "client_error";
	case SessionEnd::UPSTREAM_ERROR: return "upstream_error";
	case SessionEnd::ERROR: return "error";
	case SessionEnd::REFUSED: return "refused";
	case SessionEnd::DRAINED: return "drained";
	}
	return "unknown";
}


void SessionRecord::relayed(const RelayResult& result)
{
	bytesUp = result.clientToUpstream;
	bytesDown = result.upstreamToClient;
	switch (result.end)
	{
	case RelayEnd::COMPLETED: end = SessionEnd::COMPLETED; break;
	case RelayEnd::IDLE_TIMEOUT: end = SessionEnd::IDLE_TIMEOUT; break;
	case RelayEnd::STOPPED: end = SessionEnd::DRAINED; break;
	case RelayEnd::CLIENT_ERROR: end = SessionEnd::CLIENT_ERROR; break;
	case RelayEnd::UPSTREAM_ERROR: end = SessionEnd::UPSTREAM_ERROR; break;
	}
	// The relay says "client: Connection reset by peer"; `end` already says which side.
	error = result.detail;
	std::size_t colon = error.find(": ");
	if (colon != std::string::npos && (error.compare(0, colon, "client") == 0 || error.compare(0, colon, "upstream") == 0))
		error.erase(0, colon + 2);
}


void SessionRecord::refused(Stats::Refusal reason)
{
	end = SessionEnd::REFUSED;
	refusal = reason;
}


void SessionRecord::failed(const std::string& text)
{
	if (end != SessionEnd::COMPLETED || !error.empty())
		return;
	end = SessionEnd::ERROR;
	error = text;
}


Poco::Logger& AccessLog::logger()
{
	// Poco::Logger::get() locks a process-wide mutex: once, not per session.
	static Poco::Logger& instance = Poco::Logger::get("ForwardOptimal.Access");
	return instance;
}


std::string AccessLog::text(const SessionRecord& record)
{
	char duration[32];
	std::snprintf(duration, sizeof(duration), "%.3f", durationMs(record));
	std::string error = "-";
	if (!record.error.empty())
	{
		// Quoted, as it has spaces; errno texts have no quotes, an exception text might.
		error = "\"" + record.error + "\"";
		for (std::size_t i = 1; i + 1 < error.size(); ++i)
			if (error[i] == '"' || error[i] == '\n' || error[i] == '\r')
				error[i] = error[i] == '"' ? '\'' : ' ';
	}
	std::string line;
	line.reserve(256);
	line += "id=" + orDash(record.uniqueId);
	line += " client=" + clientText(record);
	line += " target=" + orDash(record.target);
	line += " upstream=" + (record.upstreamAddress ? record.upstreamAddress->toString() : std::string("-"));
	line += record.pooled ? " pooled=yes" : " pooled=no";
	line += std::string(" proxyHeader=") + proxyHeaderName(record.proxyHeader);
	line += " bytesUp=" + std::to_string(record.bytesUp);
	line += " bytesDown=" + std::to_string(record.bytesDown);
	line += std::string(" durationMs=") + duration;
	line += std::string(" end=") + toString(record.end);
	line += std::string(" reason=") + (record.refusal ? Stats::describe(*record.refusal).metricLabel : "-");
	line += " error=" + error;
	return line;
}


std::string AccessLog::json(const SessionRecord& record)
{
	using Poco::Dynamic::Var;
	Poco::JSON::Object object(Poco::JSON_PRESERVE_KEY_ORDER);
	object.set("id", record.uniqueId.empty() ? Var() : Var(record.uniqueId));
	object.set("client", clientText(record));
	object.set("target", record.target.empty() ? Var() : Var(record.target));
	object.set("upstream", record.upstreamAddress ? Var(record.upstreamAddress->toString()) : Var());
	object.set("pooled", record.pooled);
	object.set("proxyHeader", std::string(proxyHeaderName(record.proxyHeader)));
	object.set("bytesUp", record.bytesUp);
	object.set("bytesDown", record.bytesDown);
	object.set("durationMs", durationMs(record));
	object.set("end", std::string(toString(record.end)));
	object.set("reason", record.refusal ? Var(std::string(Stats::describe(*record.refusal).metricLabel)) : Var());
	object.set("error", record.error.empty() ? Var() : Var(record.error));
	std::ostringstream out;
	object.stringify(out);
	return out.str();
}


void AccessLog::write(SessionRecord& record, Config::AccessLogFormat format)
{
	record.duration = std::chrono::steady_clock::now() - record.started;
	try
	{
		logger().information(format == Config::AccessLogFormat::JSON ? json(record) : text(record));
	}
	catch (const std::exception&)
	{
		// A channel that cannot write (a FileChannel whose directory is gone, say) must not end
		// the session's thread or the accept thread; the line is lost, the traffic is not.
	}
}


void AccessLog::refusedAtAccept(const Config::Settings& settings, const Poco::Net::StreamSocket& client,
	Stats::Refusal reason)
{
	if (!enabled(settings))
		return;
	SessionRecord record;
	try
	{
		record.clientAddress = client.peerAddress();
	}
	catch (const Poco::Exception&)
	{
		// the client reset already: its address stays 0.0.0.0:0
	}
	record.refused(reason);
	write(record, settings.accessLogFormat);
}

} } // namespace ForwardOptimal::Proxy
