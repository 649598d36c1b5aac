#pragma once

#include "Poco/Net/ServerSocket.h"
#include "Poco/Net/StreamSocket.h"

#include <atomic>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <thread>

namespace ForwardOptimal {
namespace Test {

/// An in-process TCP backend on loopback for the forwarding tests: each accepted connection
/// runs `handler` on its own thread. The destructor closes the listener, shuts every open
/// connection down and joins the threads. Counters are safe to read from any thread.
class Backend
{
public:
	using Handler = std::function<void(Poco::Net::StreamSocket&)>;

	explicit Backend(Handler handler, const std::string& address = "127.0.0.1:0");
	~Backend();
	Backend(const Backend&) = delete;
	Backend& operator=(const Backend&) = delete;

	std::string address() const { return _address; }
	int accepted() const { return _accepted; }
	int open() const { return _open; }
		/// Connections accepted and not yet closed by the handler.

	void closeListener();
		/// New connects are refused from now on; open connections go on.

	static Handler echo(const std::string& banner = std::string());
		/// Sends `banner` (if any), then echoes everything until the client's FIN, then closes.
	static Handler hold();
		/// Reads and discards until the client closes.

	static void sendAll(Poco::Net::StreamSocket& socket, const std::string& data);
	static std::string readAll(Poco::Net::StreamSocket& socket);
		/// Until EOF (or a reset, or the 10 s receive timeout).

private:
	void acceptLoop();

	Handler _handler;
	Poco::Net::ServerSocket _listener;
	std::string _address;
	std::atomic<bool> _stopping{false};
	std::atomic<int> _accepted{0};
	std::atomic<int> _open{0};
	std::mutex _mutex;
	std::list<Poco::Net::StreamSocket> _connections;
	std::list<std::thread> _threads;
	std::thread _acceptor;
};

} } // namespace ForwardOptimal::Test
