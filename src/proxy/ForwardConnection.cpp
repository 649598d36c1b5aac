#include "proxy/ForwardConnection.h"

#include "Poco/Exception.h"

namespace ForwardOptimal {
namespace Proxy {

ForwardConnection::ForwardConnection(const Poco::Net::StreamSocket& socket):
	Poco::Net::TCPServerConnection(socket),
	_logger(Poco::Logger::get("ForwardOptimal.Proxy.Connection"))
{
}


void ForwardConnection::run()
{
	try
	{
		Poco::Net::StreamSocket& client = socket();
		if (_logger.debug())
			_logger.debug("client " + client.peerAddress().toString() + " accepted; closing (no forwarding yet)");
		client.shutdown();
		client.close();
	}
	catch (const Poco::Exception& error)
	{
		_logger.debug("client closed with error: " + error.displayText());
	}
	catch (const std::exception& error)
	{
		_logger.error(std::string("unexpected error in connection: ") + error.what());
	}
}


Poco::Net::TCPServerConnection* ForwardConnectionFactory::createConnection(const Poco::Net::StreamSocket& socket)
{
	return new ForwardConnection(socket);
}

} } // namespace ForwardOptimal::Proxy
