#include "net/AcceptedSocket.h"

#include <algorithm>
#include <cstring>

#include <netinet/in.h>
#include <netinet/tcp.h>

namespace ForwardOptimal {
namespace Net {

AcceptedSocketImpl::AcceptedSocketImpl(poco_socket_t fd, const sockaddr* pPeer, socklen_t peerLength,
	std::shared_ptr<const Poco::Net::SocketAddress> pLocal, bool inheritsOptions):
	Poco::Net::StreamSocketImpl(fd),
	_peer{},
	_peerLength(std::min<socklen_t>(peerLength, sizeof _peer)),
	_pLocal(std::move(pLocal)),
	_inherits(inheritsOptions),
	_source(MappedAddress::of(pPeer))
{
	std::memcpy(&_peer, pPeer, _peerLength);
}


Poco::Net::SocketAddress AcceptedSocketImpl::address()
{
	return _pLocal ? *_pLocal : Poco::Net::StreamSocketImpl::address();
}


Poco::Net::SocketAddress AcceptedSocketImpl::peerAddress()
{
	if (_peer.v4.sin_family != AF_INET && _peer.v4.sin_family != AF_INET6)
		return Poco::Net::StreamSocketImpl::peerAddress(); // not IP: ask the system
	return Poco::Net::SocketAddress(reinterpret_cast<const sockaddr*>(&_peer), _peerLength);
}


void AcceptedSocketImpl::setRawOption(int level, int option, const void* value, poco_socklen_t length)
{
	if (_inherits && level == IPPROTO_TCP && option == TCP_NODELAY && length == sizeof(int)
		&& *static_cast<const int*>(value) != 0)
		return;
	Poco::Net::StreamSocketImpl::setRawOption(level, option, value, length);
}


AcceptedSocketImpl* AcceptedSocketImpl::of(const Poco::Net::StreamSocket& socket)
{
	return dynamic_cast<AcceptedSocketImpl*>(socket.impl());
}

} } // namespace ForwardOptimal::Net
