#include "net/AcceptedSocket.h"

namespace ForwardOptimal {
namespace Net {

AcceptedSocketImpl::AcceptedSocketImpl(poco_socket_t fd):
	Poco::Net::StreamSocketImpl(fd)
{
}


AcceptedSocketImpl* AcceptedSocketImpl::of(const Poco::Net::StreamSocket& socket)
{
	return dynamic_cast<AcceptedSocketImpl*>(socket.impl());
}

} } // namespace ForwardOptimal::Net
