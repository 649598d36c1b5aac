#pragma once

#include "config/Settings.h"
#include "proxy/Relay.h"
#include "stats/Refusal.h"

#include "Poco/Logger.h"
#include "Poco/Net/SocketAddress.h"
#include "Poco/Net/StreamSocket.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace ForwardOptimal {
namespace Proxy {

/// How a session ended, as the access log says it.
enum class SessionEnd
{
	COMPLETED,       /// "completed": both sides closed their direction, everything delivered
	IDLE_TIMEOUT,    /// "idle_timeout": no byte moved either way for idleTimeout
	CLIENT_ERROR,    /// "client_error": the client reset, or a read/write on it failed
	UPSTREAM_ERROR,  /// "upstream_error": the upstream reset, or a read/write on it failed
	ERROR,           /// "error": the session failed before relaying (e.g. the PROXY header could not be sent)
	REFUSED,         /// "refused": let go before it was relayed (see SessionRecord::refusal)
	DRAINED          /// "drained": the proxy was stopping (SIGTERM/SIGINT, after drainTimeout)
};

const char* toString(SessionEnd end);
	/// "completed", "idle_timeout", ...: the access log's `end` field.

/// What the access log says about one session, filled by ForwardConnection as it goes and
/// written once when it ends. Plain data; one per session, not shared.
struct SessionRecord
{
	std::string uniqueId;                      /// the session's unique id; empty: none (not yet assigned)
	std::optional<Poco::Net::SocketAddress> clientAddress;  /// the client, as the session sets it once
	std::string target;                        /// the target as configured; empty: none was used
	std::optional<Poco::Net::SocketAddress> upstreamAddress;  /// the address the proxy connected to
	bool pooled = false;                       /// the upstream socket came from the pool
	Config::ProxyProtocol proxyHeader = Config::ProxyProtocol::NONE;  /// the PROXY header sent
	std::uint64_t bytesUp = 0;                 /// delivered to the upstream
	std::uint64_t bytesDown = 0;               /// delivered to the client
	std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
	std::chrono::steady_clock::duration duration{};  /// set by AccessLog::write()
	SessionEnd end = SessionEnd::COMPLETED;
	std::string error;                         /// the errno text (or exception text) of an error end
	std::optional<Stats::Refusal> refusal;     /// why, for SessionEnd::REFUSED

	void relayed(const RelayResult& result);
		/// Takes the byte counts, the end and the error text of the relay.
	void refused(Stats::Refusal reason);
		/// Marks the session refused for `reason`.
	void failed(const std::string& text);
		/// Marks the session ended by an error outside the relay (unless its end is known already).
};

/// The access log: one line per session when it ends (and per client refused at accept), on
/// its own logger "ForwardOptimal.Access" at information level, so the `logging` section can
/// send it to a channel of its own. Off unless `accessLog` is true. Two forms (`accessLogFormat`):
///   text: id=- client=127.0.0.1:40312 target=backend:22 upstream=192.0.2.1:22 pooled=yes
///         proxyHeader=none bytesUp=120 bytesDown=4410 durationMs=12.345 end=completed reason=- error=-
///   json: {"id":null,"client":"127.0.0.1:40312",...,"error":null} (Poco::JSON, same fields)
/// A line is built only when it will be written (enabled()). Thread-safe.
class AccessLog
{
public:
	static Poco::Logger& logger();
		/// "ForwardOptimal.Access".

	static bool enabled(const Config::Settings& settings)
		/// accessLog is on and the logger writes information messages.
	{
		return settings.accessLog && logger().information();
	}

	static std::string text(const SessionRecord& record);
		/// The text form: every field, in a fixed order, "-" for none.

	static std::string json(const SessionRecord& record);
		/// The JSON form: every field, null for none.

	static void write(SessionRecord& record, Config::AccessLogFormat format);
		/// Sets the duration (now - started) and logs the line; never throws (a channel that
		/// fails loses the line). Call only when enabled().

	static void refusedAtAccept(const Config::Settings& settings, const Poco::Net::StreamSocket& client,
		Stats::Refusal reason);
		/// The line of a client refused before its session ran (ProxyServer's accept filter);
		/// nothing unless enabled(). Call before the socket is closed.
};

} } // namespace ForwardOptimal::Proxy
