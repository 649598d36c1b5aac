#include "Backend.h"

#include "Poco/Net/NetException.h"

namespace ForwardOptimal {
namespace Test {

Backend::Backend(Handler handler, const std::string& address):
	_handler(std::move(handler)),
	_listener(Poco::Net::SocketAddress(address), 256)
{
	_address = _listener.address().toString();
	_acceptor = std::thread([this] { acceptLoop(); });
}


Backend::~Backend()
{
	_stopping = true;
	_acceptor.join();
	closeListener(); // refuse new connects now, not only once every handler has ended
	{
		std::lock_guard<std::mutex> lock(_mutex);
		for (auto& connection : _connections)
		{
			try { connection.shutdown(); } catch (const Poco::Exception&) {}
		}
	}
	for (auto& thread : _threads)
		thread.join();
}


void Backend::closeListener()
{
	std::lock_guard<std::mutex> lock(_mutex);
	_listener.close();
}


void Backend::acceptLoop()
{
	while (!_stopping)
	{
		Poco::Net::StreamSocket connection;
		{
			std::lock_guard<std::mutex> lock(_mutex);
			try
			{
				if (!_listener.poll(Poco::Timespan(0, 20000), Poco::Net::Socket::SELECT_READ))
					continue;
				connection = _listener.acceptConnection();
			}
			catch (const Poco::Exception&)
			{
				std::this_thread::sleep_for(std::chrono::milliseconds(20)); // listener closed
				continue;
			}
			_connections.push_back(connection);
		}
		++_accepted;
		++_open;
		std::lock_guard<std::mutex> lock(_mutex);
		_threads.emplace_back([this, connection]() mutable {
			connection.setReceiveTimeout(Poco::Timespan(10, 0));
			try
			{
				_handler(connection);
			}
			catch (const Poco::Exception&)
			{
				// The peer went away; the test decides whether that was expected.
			}
			try { connection.close(); } catch (const Poco::Exception&) {}
			--_open;
		});
	}
}


Backend::Handler Backend::echo(const std::string& banner)
{
	return [banner](Poco::Net::StreamSocket& socket) {
		if (!banner.empty())
			sendAll(socket, banner);
		char buffer[16384];
		for (int n; (n = socket.receiveBytes(buffer, sizeof buffer)) > 0;)
			sendAll(socket, std::string(buffer, static_cast<std::size_t>(n)));
		socket.shutdownSend();
	};
}


Backend::Handler Backend::hold()
{
	return [](Poco::Net::StreamSocket& socket) {
		socket.setReceiveTimeout(Poco::Timespan(60, 0));
		char buffer[4096];
		while (socket.receiveBytes(buffer, sizeof buffer) > 0)
		{
		}
	};
}


void Backend::sendAll(Poco::Net::StreamSocket& socket, const std::string& data)
{
	std::size_t sent = 0;
	while (sent < data.size())
	{
		int n = socket.sendBytes(data.data() + sent, static_cast<int>(data.size() - sent));
		if (n <= 0)
			throw Poco::IOException("send failed");
		sent += static_cast<std::size_t>(n);
	}
}


std::string Backend::readAll(Poco::Net::StreamSocket& socket)
{
	std::string data;
	char buffer[16384];
	try
	{
		for (int n; (n = socket.receiveBytes(buffer, sizeof buffer)) > 0;)
			data.append(buffer, static_cast<std::size_t>(n));
	}
	catch (const Poco::Net::ConnectionResetException&)
	{
	}
	catch (const Poco::TimeoutException&)
	{
	}
	return data;
}

} } // namespace ForwardOptimal::Test
