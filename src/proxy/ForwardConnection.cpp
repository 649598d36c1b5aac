#include "proxy/ForwardConnection.h"

#include "Poco/Exception.h"

namespace ForwardOptimal {
namespace Proxy {

ForwardConnection::ForwardConnection(const Poco::Net::StreamSocket& socket, ConnectionContext& context):
	Poco::Net::TCPServerConnection(socket),
	_context(context),
	_logger(Poco::Logger::get("ForwardOptimal.Proxy.Connection"))
{
}


void ForwardConnection::run()
{
	try
	{
		Poco::Net::StreamSocket& client = socket();
		++_context.counters.accepted;
		std::shared_ptr<const Health::HealthSnapshot> pRoute = _context.monitor.snapshot();
		if (pRoute->paused())
		{
			refuseWhilePaused(client);
			return;
		}
		if (_logger.debug())
			_logger.debug("client " + client.peerAddress().toString() + " accepted, best target "
				+ pRoute->best()->target.toString() + "; closing (no forwarding yet)");
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


void ForwardConnection::refuseWhilePaused(Poco::Net::StreamSocket& client)
{
	std::uint64_t refused = ++_context.counters.refusedNoTarget;
	std::string peer = client.peerAddress().toString();
	// Close with a reset rather than a FIN: the client learns at once that nothing is there.
	client.setLinger(true, 0);
	client.close();
	if (_context.refusalLog.allow())
		_logger.warning("⛔ 服务已暂停 (没有健康的目标节点): 立即关闭新连接 " + peer
			+ ", 累计已拒绝 " + std::to_string(refused) + " 个");
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
