#pragma once

#include "net/MappedAddress.h"
#include "net/SourceLimiter.h"

#include "Poco/Net/SocketAddress.h"

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
	AcceptedSocketImpl(poco_socket_t fd, const Poco::Net::SocketAddress& peer);
		/// `peer` is the address accept() returned. It stays known after the client resets:
		/// getpeername() then fails (ENOTCONN), although the bytes the client sent before
		/// its reset (a balancer's LOCAL header, say) are still there to read.

	static AcceptedSocketImpl* of(const Poco::Net::StreamSocket& socket);
		/// The impl of `socket` if a Listener accepted it, else null.

	const Poco::Net::SocketAddress& peer() const { return _peer; }
		/// The client's address and port as accept() returned them.

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
	Poco::Net::SocketAddress _peer;
	std::optional<MappedAddress> _source;
	SourceLimiter::Lease _lease;
	bool _balancer = false;
};

} } // namespace ForwardOptimal::Net
