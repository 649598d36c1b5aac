#include "net/AcceptedSocket.h"

namespace ForwardOptimal {
namespace Net {

AcceptedSocketImpl::AcceptedSocketImpl(poco_socket_t fd, const Poco::Net::SocketAddress& peer):
	Poco::Net::StreamSocketImpl(fd),
	_peer(peer),
	_source(MappedAddress::of(peer.addr()))
{
}


AcceptedSocketImpl* AcceptedSocketImpl::of(const Poco::Net::StreamSocket& socket)
{
	return dynamic_cast<AcceptedSocketImpl*>(socket.impl());
}

} } // namespace ForwardOptimal::Net
