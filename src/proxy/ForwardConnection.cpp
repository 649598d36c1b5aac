#include "proxy/ForwardConnection.h"

#include "net/Connect.h"
#include "proxy/Relay.h"
#include "proxyprotocol/ProxyHeader.h"

#include "Poco/Exception.h"

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace ForwardOptimal {
namespace Proxy {

namespace {

// Counts a session as active for as long as it lives, whatever way it ends.
struct ActiveSession
{
	explicit ActiveSession(std::atomic<std::int64_t>& counter): _counter(counter) { ++_counter; }
	~ActiveSession() { --_counter; }
	std::atomic<std::int64_t>& _counter;
};

void sendAll(Poco::Net::StreamSocket& socket, const std::string& bytes)
{
	std::size_t sent = 0;
	while (sent < bytes.size())
	{
		int n = socket.sendBytes(bytes.data() + sent, static_cast<int>(bytes.size() - sent));
		if (n <= 0)
			throw Poco::IOException("the upstream stopped accepting data");
		sent += static_cast<std::size_t>(n);
	}
}

} // namespace


StopSignal::StopSignal()
{
	if (::pipe2(_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		throw Poco::SystemException(std::string("pipe: ") + std::strerror(errno));
}


StopSignal::~StopSignal()
{
	::close(_pipe[0]);
	::close(_pipe[1]);
}


void StopSignal::trigger()
{
	char byte = 1;
	if (::write(_pipe[1], &byte, 1) < 0 && errno != EAGAIN)
		poco_unexpected();
}


ForwardConnection::ForwardConnection(const Poco::Net::StreamSocket& socket, ConnectionContext& context):
	Poco::Net::TCPServerConnection(socket),
	_context(context),
	_logger(logger())
{
}


Poco::Logger& ForwardConnection::logger()
{
	// Poco::Logger::get() locks a process-wide mutex and looks the name up: once, not per client.
	static Poco::Logger& instance = Poco::Logger::get("ForwardOptimal.Proxy.Connection");
	return instance;
}


void ForwardConnection::run()
{
	Poco::Net::StreamSocket& client = socket();
	++_context.counters.accepted;
	ActiveSession active(_context.counters.activeSessions);
	try
	{
		serve(client);
	}
	catch (const Poco::Exception& error)
	{
		if (_logger.debug()) // the text is built only when it will be written
			_logger.debug("session ended with error: " + error.displayText());
	}
	catch (const std::exception& error)
	{
		_logger.error(std::string("unexpected error in a session: ") + error.what());
	}
	++_context.counters.completedSessions;
}


void ForwardConnection::serve(Poco::Net::StreamSocket& client)
{
	std::shared_ptr<Runtime> pRuntime = _context.runtime(); // kept for the whole session
	const Config::Settings& settings = pRuntime->settings();
	// Holds this session's place in its address's count until serve() returns, however it does.
	SourceLimiter::Lease lease = _context.sources.acquire(client.impl()->sockfd(), settings.maxConnectionsPerSource);
	if (!lease)
	{
		refuse(client, _context.counters.refusedPerSource, _context.sourceLimitLog, "来源地址的并发连接数已达上限 (maxConnectionsPerSource)");
		return;
	}
	std::shared_ptr<const Health::HealthSnapshot> pRoute = pRuntime->monitor().snapshot();
	if (pRoute->paused())
	{
		refuse(client, _context.counters.refusedNoTarget, _context.refusalLog, "服务已暂停 (没有健康的目标节点)");
		return;
	}

	auto started = std::chrono::steady_clock::now();
	Poco::Net::StreamSocket upstream;
	const Health::TargetStatus* pTarget = nullptr;
	bool pooled = false;
	bool shortage = false;
	std::size_t attempts = std::min(pRoute->ranking.size(), MAX_ATTEMPTS);
	for (std::size_t i = 0; i < attempts && !pTarget; ++i)
	{
		const Health::TargetStatus& candidate = pRoute->targets[pRoute->ranking[i]];
		Pool::Lease connected = pRuntime->pool().acquire(candidate);
		if (connected)
		{
			upstream = connected.socket;
			pooled = connected.pooled;
			pTarget = &candidate;
			if (i > 0)
				++_context.counters.failovers;
		}
		else if ((shortage = connected.localShortage()))
			break; // out of descriptors or memory here: not the target's fault, and no other would do better
		else
		{
			++_context.counters.upstreamFailures;
			pRuntime->monitor().reportFailure(candidate.target, "connect: " + connected.reason);
		}
	}
	if (shortage)
	{
		refuse(client, _context.counters.refusedNoResources, _context.failureLog, "本进程资源不足 (文件描述符或内存)");
		return;
	}
	if (!pTarget)
	{
		refuse(client, _context.counters.refusedNoUpstream, _context.failureLog, "没有可连接的目标节点");
		return;
	}

	Net::tune(client);
	if (settings.proxyProtocol != Config::ProxyProtocol::NONE)
	{
		Poco::Net::SocketAddress source = client.peerAddress();
		Poco::Net::SocketAddress destination = client.address();
		upstream.setSendTimeout(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(settings.connectTimeout).count()));
		sendAll(upstream, settings.proxyProtocol == Config::ProxyProtocol::V2
			? ProxyProtocol::ProxyHeader::v2(source, destination)
			: ProxyProtocol::ProxyHeader::v1(source, destination));
	}

	Relay relay(client.impl()->sockfd(), upstream.impl()->sockfd(), settings.bufferSize, settings.idleTimeout,
		_context.stop.fd());
	RelayResult result = relay.run();
	_context.counters.bytesClientToUpstream += result.clientToUpstream;
	_context.counters.bytesUpstreamToClient += result.upstreamToClient;
	if (_logger.debug())
	{
		double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
		_logger.debug("session " + client.peerAddress().toString() + " -> " + pTarget->target.toString()
			+ (pooled ? " (pooled)" : "") + ": " + std::to_string(result.clientToUpstream) + " bytes up, "
			+ std::to_string(result.upstreamToClient) + " bytes down, " + std::to_string(seconds) + " s, "
			+ toString(result.end) + (result.detail.empty() ? "" : " (" + result.detail + ")"));
	}
	upstream.close();
	client.close();
}


void ForwardConnection::refuse(Poco::Net::StreamSocket& client, std::atomic<std::uint64_t>& counter,
	Stats::RateLimiter& limiter, const std::string& why)
{
	std::uint64_t refused = ++counter;
	// Rate-limited, and nothing is built for a line that is not written: a flood of refused
	// clients costs no more than the refusals themselves.
	std::string peer;
	bool log = limiter.allow();
	if (log)
		peer = client.peerAddress().toString();
	// A reset rather than a FIN: the client learns at once that nothing is there.
	client.setLinger(true, 0);
	client.close();
	if (log)
		_logger.warning("⛔ " + why + ": 立即关闭新连接 " + peer + ", 累计已拒绝 " + std::to_string(refused) + " 个");
}


ForwardConnectionFactory::ForwardConnectionFactory(ConnectionContext& context):
	_context(context)
{
}


Poco::Net::TCPServerConnection* ForwardConnectionFactory::createConnection(const Poco::Net::StreamSocket& socket)
{
	return new ForwardConnection(socket, _context);
}

} } // namespace ForwardOptimal::Proxy
