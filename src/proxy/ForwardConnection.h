#pragma once

#include "Poco/Logger.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/Net/TCPServerConnection.h"
#include "Poco/Net/TCPServerConnectionFactory.h"

#include <atomic>

namespace ForwardOptimal {
namespace Proxy {

/// One client session, run on a thread of the ProxyServer's pool. This is the data plane's one
/// exception boundary: nothing thrown here may escape into the pool thread.
/// The relay arrives with the forwarding issue; until then a client is accepted and closed
/// straight away, which exercises the accept, dispatch and shutdown paths for real.
class ForwardConnection: public Poco::Net::TCPServerConnection
{
public:
	explicit ForwardConnection(const Poco::Net::StreamSocket& socket);
	void run() override;

private:
	Poco::Logger& _logger;
};


/// Creates a ForwardConnection for each accepted client. Owned by the TCPServer; thread-safe.
class ForwardConnectionFactory: public Poco::Net::TCPServerConnectionFactory
{
public:
	Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override;
};

} } // namespace ForwardOptimal::Proxy
