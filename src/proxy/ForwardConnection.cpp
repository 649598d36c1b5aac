#include "proxy/ForwardConnection.h"

#include "net/AcceptedSocket.h"
#include "net/Connect.h"
#include "proxy/InboundProxy.h"
#include "proxy/Relay.h"
#include "proxyprotocol/ProxyHeader.h"

#include "Poco/Exception.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

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

// A peer's address, or nothing when it has reset already (getpeername fails then; on the accept
// thread no session boundary would catch the exception).
std::optional<Poco::Net::SocketAddress> peerAddressOf(const Poco::Net::StreamSocket& socket)
{
	try
	{
		return socket.peerAddress();
	}
	catch (const Poco::Exception&)
	{
		return std::nullopt;
	}
}

// The client's address for a log line.
std::string peerOf(const Poco::Net::StreamSocket& client)
{
	std::optional<Poco::Net::SocketAddress> address = peerAddressOf(client);
	return address ? address->toString() : "(unknown)";
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


void ConnectionContext::refuse(Poco::Net::StreamSocket& client, Stats::Refusal reason, const std::string& detail,
	const std::string& who)
{
	const Stats::RefusalInfo& info = Stats::describe(reason);
	std::uint64_t refused = ++(counters.*info.counter);
	if (!info.logText)
	{
		client.close(); // a balancer's health check: a FIN, no log line
		return;
	}
	// Throttled, and nothing is built for a line that is not written: a flood of refused
	// clients costs no more than the refusals themselves.
	std::string peer;
	bool log = _refusalLogs[static_cast<std::size_t>(reason)].allow();
	if (log)
		peer = who.empty() ? peerOf(client) : who;
	// A reset rather than a FIN: the client learns at once that nothing is there.
	client.setLinger(true, 0);
	client.close();
	if (log)
		ForwardConnection::logger().warning(std::string("⛔ ") + info.logText + ": 立即关闭新连接 " + peer
			+ (detail.empty() ? "" : " (" + detail + ")") + ", 累计已拒绝 " + std::to_string(refused) + " 个");
}


ForwardConnection::ForwardConnection(const Poco::Net::StreamSocket& socket, ConnectionContext& context):
	Poco::Net::TCPServerConnection(socket),
	_context(context),
	_logger(logger())
{
	if (Net::AcceptedSocketImpl* pImpl = Net::AcceptedSocketImpl::of(socket))
	{
		_lease = pImpl->takeLease();
		_fromBalancer = pImpl->balancer();
	}
}


std::string ForwardConnection::newUniqueId()
{
	struct Key
	{
		std::uint64_t high;
		std::uint64_t low;
	};
	static const Key key = [] {
		std::random_device device;
		auto draw = [&device] { return (static_cast<std::uint64_t>(device()) << 32) ^ device(); };
		return Key{draw(), draw()};
	}();
	static std::atomic<std::uint64_t> counter{0};
	// splitmix64's finaliser: a bijection of 64 bits, so distinct counters give distinct halves.
	auto mix = [](std::uint64_t x) {
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
		x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
		return x ^ (x >> 31);
	};
	std::uint64_t n = counter.fetch_add(1, std::memory_order_relaxed);
	std::uint64_t halves[2] = {mix(n + key.high), mix(n ^ key.low)};
	static const char HEX[] = "0123456789abcdef";
	std::string id(32, '0');
	for (std::size_t half = 0; half < 2; ++half)
		for (std::size_t i = 0; i < 16; ++i)
			id[half * 16 + i] = HEX[(halves[half] >> (4 * i)) & 15];
	return id;
}


const std::string& ForwardConnection::uniqueId()
{
	if (_uniqueId.empty())
		_uniqueId = newUniqueId();
	return _uniqueId;
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
		if (_accessLog)
			_record.failed(error.displayText());
	}
	catch (const std::exception& error)
	{
		_logger.error(std::string("unexpected error in a session: ") + error.what());
		if (_accessLog)
			_record.failed(error.what());
	}
	if (_accessLog)
		AccessLog::write(_record, *_accessLog);
	// The place in the per-source count goes back before the session stops counting as
	// active: whoever sees the active count drop may connect again from the same address.
	_lease = Net::SourceLimiter::Lease();
	++_context.counters.completedSessions;
}


void ForwardConnection::serve(Poco::Net::StreamSocket& client)
{
	std::shared_ptr<Runtime> pRuntime = _context.runtime(); // kept for the whole session
	if (AccessLog::enabled(pRuntime->settings()))
		_accessLog = pRuntime->settings().accessLogFormat;
	bool admitted = readInboundHeader(pRuntime->settings(), client);
	if (_accessLog)
	{
		_record.clientAddress = _addressesKnown ? _clientAddress : peerAddressOf(client);
		_record.uniqueId = uniqueId();
	}
	if (!admitted)
		return;
	std::shared_ptr<const Health::HealthSnapshot> pRoute = pRuntime->monitor().snapshot();
	if (pRoute->paused())
	{
		refuse(client, Stats::Refusal::NO_TARGET, "", _fromBalancer ? clientAddress().toString() : "");
		return;
	}
	auto started = std::chrono::steady_clock::now();
	Upstream upstream = connectUpstream(*pRuntime, *pRoute);
	if (!upstream.pTarget)
	{
		refuse(client, upstream.failure, "", _fromBalancer ? clientAddress().toString() : "");
		return;
	}
	const Net::AcceptedSocketImpl* pAccepted = Net::AcceptedSocketImpl::of(client);
	if (!pAccepted || !pAccepted->inheritsOptions())
		Net::tune(client); // else set on the listener and inherited: no system call here
	noteUpstream(upstream);
	writeHeader(pRuntime->settings(), upstream.socket);
	_record.proxyHeader = pRuntime->settings().proxyProtocol;
	relay(pRuntime->settings(), client, upstream, started);
}


void ForwardConnection::refuse(Poco::Net::StreamSocket& client, Stats::Refusal reason, const std::string& detail,
	const std::string& who)
{
	_record.refused(reason);
	_context.refuse(client, reason, detail, who);
}


void ForwardConnection::noteUpstream(const Upstream& upstream)
{
	if (!_accessLog)
		return;
	_record.target = upstream.pTarget->target.toString();
	_record.pooled = upstream.pooled;
	_record.upstreamAddress = peerAddressOf(upstream.socket);
}


ForwardConnection::Upstream ForwardConnection::connectUpstream(Runtime& runtime, const Health::HealthSnapshot& route)
{
	Upstream upstream;
	std::size_t attempts = std::min(route.ranking.size(), MAX_ATTEMPTS);
	for (std::size_t i = 0; i < attempts; ++i)
	{
		std::optional<Stats::Refusal> failure = acquire(runtime, route.targets[route.ranking[i]], upstream);
		if (!failure)
		{
			if (i > 0)
				++_context.counters.failovers;
			return upstream;
		}
		upstream.failure = *failure;
		// Out of descriptors or memory here: not the target's fault, and no other would do better.
		if (*failure == Stats::Refusal::NO_RESOURCES)
			break;
	}
	return upstream;
}


std::optional<Stats::Refusal> ForwardConnection::acquire(Runtime& runtime, const Health::TargetStatus& target,
	Upstream& upstream)
{
	// The session's one call into the pool: a failure is turned into a reason here, and one the
	// target is to blame for is reported to the health monitor. A name's addresses are tried
	// in the target's order (best first) before the next target is.
	std::size_t candidates = std::max<std::size_t>(1, target.addressOrder.size());
	for (std::size_t k = 0; k < candidates; ++k)
	{
		const Health::AddressStatus* pAddress = target.addressOrder.empty() ? nullptr
			: &target.addresses[target.addressOrder[k]];
		Pool::Lease lease = runtime.pool().acquire(target, pAddress);
		if (lease)
		{
			upstream.socket = lease.socket;
			upstream.pooled = lease.pooled;
			upstream.pTarget = &target;
			if (k > 0)
				++_context.counters.failovers;
			return std::nullopt;
		}
		if (lease.localShortage())
			return Stats::Refusal::NO_RESOURCES;
		++_context.counters.upstreamFailures;
		runtime.monitor().reportFailure(target.target, "connect: " + lease.reason, pAddress ? pAddress->text : std::string());
	}
	return Stats::Refusal::NO_UPSTREAM;
}


bool ForwardConnection::readInboundHeader(const Config::Settings& settings, Poco::Net::StreamSocket& client)
{
	if (!_fromBalancer)
		return true; // a direct client: its bytes are data, whatever they look like
	clientAddress(); // the connection's own endpoints, kept for PROXY UNKNOWN / UNSPEC
	InboundProxy::Result inbound = InboundProxy::read(client.impl()->sockfd(), InboundProxy::accept(settings.acceptProxyProtocol),
		settings.proxyHeaderTimeout, _context.stop.fd());
	if (inbound.stopped)
	{
		client.close(); // the server stops: neither the client's fault nor a refusal
		return false;
	}
	if (inbound.refusal)
	{
		refuse(client, *inbound.refusal, inbound.reason);
		return false;
	}
	const ProxyProtocol::InboundHeader& header = inbound.header;
	if (header.command == ProxyProtocol::InboundHeader::Command::PROXY)
	{
		_clientAddress = header.source;
		_localAddress = header.destination;
	}
	_addressesKnown = true;
	_receivedTlvs = header.tlvs;
	for (const auto& tlv : _receivedTlvs)
	{
		if (tlv.type == ProxyProtocol::TlvType::UNIQUE_ID && !tlv.value.empty())
		{
			bool printable = std::all_of(tlv.value.begin(), tlv.value.end(), [](char c) { return c > 0x20 && c < 0x7f; });
			_uniqueId = printable ? tlv.value : std::string();
			if (!printable)
			{
				static const char HEX[] = "0123456789abcdef";
				for (unsigned char c : tlv.value)
					(_uniqueId += HEX[c >> 4]) += HEX[c & 15];
			}
		}
	}
	// The per-source limit applies to the client the header names, not to the balancer.
	_lease = _context.sources.acquire(Net::MappedAddress(_clientAddress->host()), settings.maxConnectionsPerSource);
	if (!_lease)
	{
		refuse(client, Stats::Refusal::PER_SOURCE, "", _clientAddress->toString() + " via " + peerOf(client));
		return false;
	}
	return true;
}


const Poco::Net::SocketAddress& ForwardConnection::clientAddress()
{
	if (!_addressesKnown)
	{
		// Asked only when needed (a header to send, a debug line). An accepted socket answers
		// both from what accept() returned and the listener's address (Net::AcceptedSocketImpl):
		// no system call, and still known after the client has reset.
		_clientAddress = socket().peerAddress();
		_localAddress = socket().address();
		_addressesKnown = true;
	}
	return *_clientAddress;
}


std::string ForwardConnection::header(const Config::Settings& settings)
{
	clientAddress();
	if (settings.proxyProtocol == Config::ProxyProtocol::V1)
		return ProxyProtocol::ProxyHeader::v1(*_clientAddress, *_localAddress);
	const Config::ProxyTlvs& wanted = settings.proxyProtocolTlvs;
	if (!wanted.any())
		return ProxyProtocol::ProxyHeader::v2(*_clientAddress, *_localAddress);
	// UNIQUE_ID first (small, always fits), then the balancer's TLVs; CRC32C last, by the encoder.
	std::vector<ProxyProtocol::Tlv> tlvs;
	if (wanted.uniqueId)
	{
		auto received = std::find_if(_receivedTlvs.begin(), _receivedTlvs.end(),
			[](const ProxyProtocol::Tlv& tlv) { return tlv.type == ProxyProtocol::TlvType::UNIQUE_ID; });
		tlvs.push_back(received != _receivedTlvs.end() ? *received : ProxyProtocol::Tlv{ProxyProtocol::TlvType::UNIQUE_ID, uniqueId()});
	}
	if (wanted.passthrough)
		for (const auto& tlv : _receivedTlvs)
			if (tlv.type == ProxyProtocol::TlvType::ALPN || tlv.type == ProxyProtocol::TlvType::AUTHORITY
				|| tlv.type == ProxyProtocol::TlvType::SSL)
				tlvs.push_back(tlv);
	std::vector<ProxyProtocol::Tlv> dropped;
	std::string bytes = ProxyProtocol::ProxyHeader::v2(*_clientAddress, *_localAddress, tlvs, wanted.crc32c, &dropped);
	if (!dropped.empty())
	{
		static Stats::LogThrottle throttle(std::chrono::seconds(10));
		if (throttle.allow())
		{
			std::string types;
			for (const auto& tlv : dropped)
				types += (types.empty() ? "" : ", ") + std::to_string(tlv.type);
			_logger.warning("PROXY v2 header of session " + uniqueId() + " would exceed 536 bytes: TLV type(s) " + types
				+ " not passed on");
		}
	}
	return bytes;
}


void ForwardConnection::writeHeader(const Config::Settings& settings, Poco::Net::StreamSocket& upstream)
{
	if (settings.proxyProtocol == Config::ProxyProtocol::NONE)
		return;
	upstream.setSendTimeout(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(settings.connectTimeout).count()));
	sendAll(upstream, header(settings));
}


void ForwardConnection::relay(const Config::Settings& settings, Poco::Net::StreamSocket& client, Upstream& upstream,
	std::chrono::steady_clock::time_point started)
{
	Relay relay(client.impl()->sockfd(), upstream.socket.impl()->sockfd(), settings.bufferSize, settings.idleTimeout,
		_context.stop.fd(), SpliceOptions{settings.splice, &_context.pipes});
	RelayResult result = relay.run();
	_record.relayed(result);
	_context.counters.bytesClientToUpstream += result.clientToUpstream;
	_context.counters.bytesUpstreamToClient += result.upstreamToClient;
	if (_logger.debug())
	{
		double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
		_logger.debug("session " + uniqueId() + " " + clientAddress().toString()
			+ (_fromBalancer ? " via " + peerOf(client) : "") + " -> " + upstream.pTarget->target.toString()
			+ (upstream.pooled ? " (pooled)" : "") + ": " + std::to_string(result.clientToUpstream) + " bytes up, "
			+ std::to_string(result.upstreamToClient) + " bytes down, " + std::to_string(seconds) + " s, "
			+ toString(result.end) + (result.detail.empty() ? "" : " (" + result.detail + ")"));
	}
	upstream.socket.close();
	client.close();
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
