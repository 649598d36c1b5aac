// A small TCP backend for the demo and the end-to-end tests: greets each client with one line
// naming itself, then echoes everything back until the client closes. Loopback by default.
//
//   fo_demo_backend [--listen 127.0.0.1:0] [--name backend] [--threads 256]
//
// Prints "listening on ADDRESS" once ready; stops on SIGINT/SIGTERM.
#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/Net/TCPServer.h"
#include "Poco/Net/TCPServerConnection.h"
#include "Poco/Net/TCPServerConnectionFactory.h"
#include "Poco/Net/TCPServerParams.h"
#include "Poco/ThreadPool.h"

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

namespace {

std::string g_name = "backend";

class EchoConnection: public Poco::Net::TCPServerConnection
{
public:
	using Poco::Net::TCPServerConnection::TCPServerConnection;

	void run() override
	{
		Poco::Net::StreamSocket& client = socket();
		try
		{
			std::string greeting = "hello from " + g_name + " (" + client.address().toString() + ")\n";
			sendAll(client, greeting.data(), greeting.size());
			char buffer[32 * 1024];
			for (int n; (n = client.receiveBytes(buffer, sizeof buffer)) > 0;)
				sendAll(client, buffer, static_cast<std::size_t>(n));
			client.shutdownSend();
		}
		catch (const Poco::Exception&)
		{
			// The client went away: nothing to clean up beyond the socket.
		}
	}

private:
	static void sendAll(Poco::Net::StreamSocket& socket, const char* data, std::size_t length)
	{
		while (length > 0)
		{
			int sent = socket.sendBytes(data, static_cast<int>(length));
			if (sent <= 0)
				throw Poco::IOException("send failed");
			data += sent;
			length -= static_cast<std::size_t>(sent);
		}
	}
};

} // namespace


int main(int argc, char** argv)
{
	std::string listen = "127.0.0.1:0";
	int threads = 256;
	for (int i = 1; i + 1 < argc; i += 2)
	{
		if (std::strcmp(argv[i], "--listen") == 0)
			listen = argv[i + 1];
		else if (std::strcmp(argv[i], "--name") == 0)
			g_name = argv[i + 1];
		else if (std::strcmp(argv[i], "--threads") == 0)
			threads = std::atoi(argv[i + 1]);
		else
		{
			std::cerr << "usage: fo_demo_backend [--listen HOST:PORT] [--name NAME] [--threads N]\n";
			return 64;
		}
	}

	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &signals, nullptr);
	std::signal(SIGPIPE, SIG_IGN);

	try
	{
		Poco::Net::ServerSocket socket(Poco::Net::SocketAddress(listen), 1024);
		Poco::Net::TCPServerParams::Ptr pParams = new Poco::Net::TCPServerParams;
		pParams->setMaxThreads(threads);
		pParams->setMaxQueued(threads);
		Poco::ThreadPool pool(2, threads, 60, 256 * 1024);
		Poco::Net::TCPServer server(new Poco::Net::TCPServerConnectionFactoryImpl<EchoConnection>, pool, socket, pParams);
		server.start();
		std::cout << "listening on " << socket.address().toString() << std::endl;
		int signal = 0;
		sigwait(&signals, &signal);
		// Stop at once and for real: close the listener first (TCPServer::stop() alone leaves
		// it accepting into the backlog), then end the process with its connections.
		socket.close();
		std::_Exit(0);
	}
	catch (const Poco::Exception& error)
	{
		std::cerr << "fo_demo_backend: " << error.displayText() << "\n";
		return 69;
	}
	return 0;
}
