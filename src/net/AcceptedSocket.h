#pragma once

#include "net/MappedAddress.h"
#include "net/SourceLimiter.h"

#include "Poco/Net/SocketAddress.h"

#include <memory>
#include <optional>

#include <netinet/in.h>

#include "Poco/Net/StreamSocket.h"
#include "Poco/Net/StreamSocketImpl.h"

namespace ForwardOptimal {
namespace Net {

/// The impl of every client socket a Listener accepts: a StreamSocketImpl that carries the
/// client's SourceLimiter::Lease from the accept to the session. POCO 1.11's TCPServer hands
/// only a StreamSocket from its accept thread to a session thread, through a queue whose
/// entries it may drop without running them (queue full, no thread to start, stop()). The lease
/// rides on the socket, so a client that never runs gives its place back when the last copy
/// of its socket goes; one that runs has its lease taken over by its session.
/// hold() on the accept thread before the socket is queued, takeLease() on the session thread
/// after it is dequeued: the TCPServer's queue orders the two.
class AcceptedSocketImpl: public Poco::Net::StreamSocketImpl
{
public:
	AcceptedSocketImpl(poco_socket_t fd, const sockaddr* pPeer, socklen_t peerLength,
		std::shared_ptr<const Poco::Net::SocketAddress> pLocal = nullptr, bool inheritsOptions = false);
		/// `peer` is the address accept() returned. It stays known after the client resets:
		/// getpeername() then fails (ENOTCONN), although the bytes the client sent before
		/// its reset (a balancer's LOCAL header, say) are still there to read. `local` is the
		/// listener's own address when it is bound to one (not a wildcard): then it is this
		/// socket's local address too. `inheritsOptions`: the listener has TCP_NODELAY and
		/// SO_KEEPALIVE set, so this socket has them from accept().

	Poco::Net::SocketAddress address() override;
		/// The local address: the listener's, when known, else getsockname() as POCO's.

	Poco::Net::SocketAddress peerAddress() override;
		/// The address accept() returned: no getpeername(), and still known after a reset.

	void setRawOption(int level, int option, const void* value, poco_socklen_t length) override;
		/// As POCO's, except that TCP_NODELAY on, which the socket inherited from the listener
		/// (TCPServer sets it on every client it accepts), costs no system call.

	bool inheritsOptions() const { return _inherits; }
		/// TCP_NODELAY and SO_KEEPALIVE are on from accept(): a session need not set them.

	static AcceptedSocketImpl* of(const Poco::Net::StreamSocket& socket);
		/// The impl of `socket` if a Listener accepted it, else null.

	const std::optional<MappedAddress>& source() const { return _source; }
		/// The client's address for trust and per-source checks; empty if it is not IP.

	void hold(SourceLimiter::Lease lease) { _lease = std::move(lease); }
		/// Keeps `lease` for as long as this socket lives, or until takeLease().

	SourceLimiter::Lease takeLease() { return std::move(_lease); }
		/// Hands the lease over (to the session); the socket keeps none.

	void markBalancer() { _balancer = true; }
		/// On the accept thread: the client is a trusted load balancer (acceptProxyProtocol,
		/// trustedProxies) and holds no lease; its session counts the address its header names.

	bool balancer() const { return _balancer; }
		/// On the session thread: whether the accept filter found a trusted balancer.

private:
	// Kept as the bytes accept() returned, not a Poco::Net::SocketAddress (a heap object):
	// every idle session holds one of these.
	union
	{
		sockaddr_in v4;
		sockaddr_in6 v6;
	} _peer;
	socklen_t _peerLength;
	std::shared_ptr<const Poco::Net::SocketAddress> _pLocal;  // the listener's, shared
	bool _inherits;
	std::optional<MappedAddress> _source;
	SourceLimiter::Lease _lease;
	bool _balancer = false;
};

} } // namespace ForwardOptimal::Net
