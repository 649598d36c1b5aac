#include "admin/AdminServer.h"

#include "admin/StatusPage.h"
#include "net/Listener.h"

#include "Poco/DateTimeFormat.h"
#include "Poco/DateTimeFormatter.h"
#include "Poco/JSON/Stringifier.h"
#include "Poco/Net/HTTPRequest.h"
#include "Poco/Net/HTTPResponse.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/Net/TCPServerConnection.h"
#include "Poco/Net/TCPServerConnectionFactory.h"
#include "Poco/Net/TCPServerParams.h"
#include "Poco/Runnable.h"
#include "Poco/Thread.h"

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <pthread.h>

namespace ForwardOptimal {
namespace Admin {

namespace {

using Poco::Net::HTTPResponse;

struct Answer
{
	HTTPResponse::HTTPStatus status = HTTPResponse::HTTP_OK;
	std::string type = "text/plain";
	std::string body;
	std::vector<std::pair<std::string, std::string>> headers;
	bool close = false;
};

Answer answer(HTTPResponse::HTTPStatus status, const std::string& type, std::string body)
{
	Answer a;
	a.status = status;
	a.type = type;
	a.body = std::move(body);
	return a;
}

// What a well-formed request gets.
Answer route(const Poco::Net::HTTPRequest& request, const AdminServer::ViewProvider& provider)
{
	std::string path = request.getURI().substr(0, request.getURI().find('?'));
	bool known = path == "/" || path == "/metrics" || path == "/status" || path == "/healthz" || path == "/readyz";
	if (!known)
		return answer(HTTPResponse::HTTP_NOT_FOUND, "text/plain", "not found: try / /metrics /status /healthz /readyz\n");
	if (request.getMethod() != "GET" && request.getMethod() != "HEAD")
	{
		Answer a = answer(HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "text/plain", "method not allowed\n");
		a.headers.emplace_back("Allow", "GET, HEAD");
		return a;
	}
	if (path == "/healthz")
		return answer(HTTPResponse::HTTP_OK, "text/plain", "ok\n");
	if (path == "/")
	{
		std::string nonce = StatusPage::newNonce();
		Answer a = answer(HTTPResponse::HTTP_OK, StatusPage::CONTENT_TYPE, StatusPage::html(nonce));
		a.headers.emplace_back("Content-Security-Policy", StatusPage::contentSecurityPolicy(nonce));
		a.headers.emplace_back("X-Content-Type-Options", "nosniff");
		a.headers.emplace_back("Referrer-Policy", "no-referrer");
		return a;
	}

	AdminView view = provider();
	if (path == "/readyz")
	{
		bool ready = !view.pSnapshot->paused();
		return answer(ready ? HTTPResponse::HTTP_OK : HTTPResponse::HTTP_SERVICE_UNAVAILABLE,
			"text/plain", ready ? "ready\n" : "not ready: no healthy target\n");
	}
	if (path == "/metrics")
		return answer(HTTPResponse::HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", Metrics::prometheus(view));
	std::ostringstream json;
	Poco::JSON::Stringifier::stringify(Metrics::status(view), json, 2);
	return answer(HTTPResponse::HTTP_OK, "application/json", json.str() + "\n");
}

// The bytes of an answer to `request` (HTTP/1.0 or 1.1, as asked).
std::string render(const Answer& a, const std::string& version, bool keepAlive, bool head)
{
	HTTPResponse response(version, a.status);
	response.setContentType(a.type);
	response.setContentLength(static_cast<std::streamsize>(a.body.size()));
	response.set("Cache-Control", "no-store");
	response.set("Date", Poco::DateTimeFormatter::format(Poco::Timestamp(), Poco::DateTimeFormat::HTTP_FORMAT));
	for (const auto& header : a.headers)
		response.set(header.first, header.second);
	response.setKeepAlive(keepAlive);
	std::ostringstream out;
	response.write(out);
	if (!head)
		out << a.body;
	return out.str();
}

} // namespace


/// The event loop behind the admin endpoint: every open admin connection, read and written
/// without blocking on one thread, each against its deadline.
class AdminServer::Connections: public Poco::Runnable
{
public:
	explicit Connections(ViewProvider provider): _provider(std::move(provider)) {}

	void start()
	{
		_thread = std::thread([this] {
			pthread_setname_np(pthread_self(), "fo-admin-io");
			run();
		});
	}

	void stop()
	{
		{
			std::lock_guard<std::mutex> lock(_mutex);
			_stop = true;
		}
		_wake.notify_all();
		if (_thread.joinable())
			_thread.join();
		for (auto& entry : _connections)
			closeQuietly(entry.second.socket);
		_connections.clear();
		std::lock_guard<std::mutex> lock(_mutex);
		for (auto& socket : _adopted)
			closeQuietly(socket);
		_adopted.clear();
	}

	void adopt(const Poco::Net::StreamSocket& socket)
		/// From the TCPServer's thread: the loop takes the connection over.
	{
		{
			std::lock_guard<std::mutex> lock(_mutex);
			if (_stop)
				return;
			_adopted.push_back(socket);
		}
		_wake.notify_one();
	}

	void run() override
	{
		for (;;)
		{
			{
				std::unique_lock<std::mutex> lock(_mutex);
				// Nothing open: sleep until a connection arrives (rather than tick on an empty poll).
				if (_connections.empty())
					_wake.wait(lock, [this] { return _stop || !_adopted.empty(); });
				if (_stop)
					return;
			}
			takeAdopted();
			// poll(2) itself, not POCO's PollSet or Socket::select(): with POCO_HAVE_FD_EPOLL both
			// take a descriptor for epoll, and a process out of descriptors must still answer.
			std::vector<pollfd> fds;
			std::vector<Map::key_type> keys;
			fds.reserve(_connections.size());
			keys.reserve(_connections.size());
			for (const auto& entry : _connections)
			{
				fds.push_back({entry.second.socket.impl()->sockfd(), static_cast<short>(entry.second.writing ? POLLOUT : POLLIN), 0});
				keys.push_back(entry.first);
			}
			int ready = ::poll(fds.data(), static_cast<nfds_t>(fds.size()), POLL_TICK_MS); // the tick also picks up new connections
			for (std::size_t i = 0; ready > 0 && i < fds.size(); ++i)
			{
				if (fds[i].revents == 0)
					continue;
				auto it = _connections.find(keys[i]);
				bool keep = (fds[i].revents & POLLOUT) ? onWritable(it->second) : onReadable(it->second); // errors show on either
				if (!keep)
					close(it);
			}
			expire();
		}
	}

private:
	static constexpr int POLL_TICK_MS = 20;

	struct Connection
	{
		Poco::Net::StreamSocket socket;
		std::string in;
		std::string out;
		Poco::Timestamp deadline;
		bool closeAfterWrite = false;
		bool writing = false;
	};

	using Map = std::map<Poco::Net::SocketImpl*, Connection>;

	static Poco::Timestamp after(std::chrono::milliseconds delay)
	{
		return Poco::Timestamp() + static_cast<Poco::Timestamp::TimeDiff>(delay.count()) * 1000;
	}

	static void closeQuietly(Poco::Net::StreamSocket& socket)
	{
		try
		{
			socket.close();
		}
		catch (...)
		{
		}
	}

	void takeAdopted()
	{
		std::vector<Poco::Net::StreamSocket> adopted;
		{
			std::lock_guard<std::mutex> lock(_mutex);
			adopted.swap(_adopted);
		}
		for (auto& socket : adopted)
		{
			try
			{
				socket.setBlocking(false);
				socket.setNoDelay(true);
			}
			catch (const Poco::Exception&)
			{
				closeQuietly(socket);
				continue;
			}
			if (_connections.size() >= MAX_CONNECTIONS)
				evictOldest();
			Connection connection;
			connection.socket = socket;
			connection.deadline = after(HEAD_DEADLINE);
			_connections.emplace(socket.impl(), std::move(connection));
		}
	}

	void evictOldest()
	{
		auto oldest = _connections.begin();
		for (auto it = _connections.begin(); it != _connections.end(); ++it)
			if (it->second.deadline < oldest->second.deadline)
				oldest = it;
		if (oldest != _connections.end())
			close(oldest);
	}

	void close(Map::iterator it)
	{
		closeQuietly(it->second.socket);
		_connections.erase(it);
	}

	void expire()
	{
		Poco::Timestamp now;
		for (auto it = _connections.begin(); it != _connections.end();)
		{
			auto next = std::next(it);
			if (it->second.deadline < now)
				close(it);
			it = next;
		}
	}

	// Reads what has arrived; answers each complete head. False: close the connection.
	bool onReadable(Connection& c)
	{
		bool eof = false;
		char buffer[4096];
		for (;;)
		{
			int n = 0;
			try
			{
				n = c.socket.impl()->receiveBytes(buffer, sizeof buffer);
			}
			catch (const Poco::TimeoutException&)
			{
				break; // would block
			}
			catch (const Poco::Exception&)
			{
				return false; // reset
			}
			if (n < 0)
				break; // would block
			if (n == 0)
			{
				eof = true;
				break;
			}
			c.in.append(buffer, static_cast<std::size_t>(n));
			if (c.in.size() > MAX_HEAD_BYTES + sizeof buffer)
				break; // enough to judge
		}
		if (c.closeAfterWrite)
			c.in.clear(); // no more requests on this connection
		if (!c.writing)
			serve(c);
		if (eof)
		{
			if (c.out.empty())
				return false;
			c.closeAfterWrite = true;
		}
		return !c.writing || onWritable(c);
	}

	// Answers the complete heads in `in` (one at a time: the next after the answer is sent).
	void serve(Connection& c)
	{
		// The first head's end: CRLF CRLF, or bare newlines, which POCO's parser accepts too.
		std::size_t end = c.in.find("\r\n\r\n");
		std::size_t skip = 4;
		std::size_t bare = c.in.find("\n\n");
		if (bare != std::string::npos && (end == std::string::npos || bare < end))
		{
			end = bare;
			skip = 2;
		}
		if (end == std::string::npos || end + skip > MAX_HEAD_BYTES)
		{
			if (c.in.size() > MAX_HEAD_BYTES)
				queue(c, render(answer(HTTPResponse::HTTP_BAD_REQUEST, "text/plain", "bad request: request head longer than "
					+ std::to_string(MAX_HEAD_BYTES) + " bytes\n"), Poco::Net::HTTPMessage::HTTP_1_1, false, false), true);
			return;
		}
		std::istringstream head(c.in.substr(0, end + skip));
		c.in.erase(0, end + skip);
		Poco::Net::HTTPRequest request;
		try
		{
			request.read(head);
		}
		catch (const Poco::Exception& error)
		{
			// POCO's HTTPServer answered a malformed request 400 and closed: so does this.
			queue(c, render(answer(HTTPResponse::HTTP_BAD_REQUEST, "text/plain", "bad request: " + error.message() + "\n"),
				Poco::Net::HTTPMessage::HTTP_1_1, false, false), true);
			return;
		}
		// A request body is not expected here: answer, then close rather than parse it as a head.
		bool body = request.getChunkedTransferEncoding() || request.getContentLength() > 0;
		bool keepAlive = request.getKeepAlive() && !body;
		Answer a;
		try
		{
			a = route(request, _provider);
		}
		catch (const std::exception& error)
		{
			a = answer(HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "text/plain", std::string("internal error: ") + error.what() + "\n");
			keepAlive = false;
		}
		std::string version = request.getVersion() == Poco::Net::HTTPMessage::HTTP_1_0
			? Poco::Net::HTTPMessage::HTTP_1_0 : Poco::Net::HTTPMessage::HTTP_1_1;
		queue(c, render(a, version, keepAlive, request.getMethod() == "HEAD"), !keepAlive);
	}

	void queue(Connection& c, std::string bytes, bool closeAfter)
	{
		c.out += bytes;
		c.closeAfterWrite = c.closeAfterWrite || closeAfter;
		c.writing = true;
		c.deadline = after(WRITE_DEADLINE);
	}

	// Sends what it can; when all is sent, closes or waits for the next head. False: close.
	bool onWritable(Connection& c)
	{
		while (!c.out.empty())
		{
			int n = 0;
			try
			{
				n = c.socket.impl()->sendBytes(c.out.data(), static_cast<int>(c.out.size()), MSG_NOSIGNAL);
			}
			catch (const Poco::TimeoutException&)
			{
				return true; // would block
			}
			catch (const Poco::Exception&)
			{
				return false;
			}
			if (n <= 0)
				return true;
			c.out.erase(0, static_cast<std::size_t>(n));
		}
		if (c.closeAfterWrite)
		{
			try
			{
				c.socket.shutdownSend(); // the client reads the whole answer, then its EOF
			}
			catch (...)
			{
			}
			return false;
		}
		c.writing = false;
		c.deadline = after(HEAD_DEADLINE);
		serve(c); // a pipelined request already here
		return !c.writing || onWritable(c);
	}

	ViewProvider _provider;
	// std::thread rather than Poco::Thread: joining a POCO thread that has already finished
	// is skipped by isRunning(), and TSan then sees no order between its end and its teardown.
	std::thread _thread;
	Map _connections;                  // loop thread only (and stop() after the join)

	std::mutex _mutex;                 // guards the fields below
	std::condition_variable _wake;
	std::vector<Poco::Net::StreamSocket> _adopted;
	bool _stop = false;
};


namespace {

// The TCPServer's part: hand the accepted connection to the loop and return the thread at once.
class HandOff: public Poco::Net::TCPServerConnection
{
public:
	HandOff(const Poco::Net::StreamSocket& socket, std::function<void(const Poco::Net::StreamSocket&)> adopt):
		Poco::Net::TCPServerConnection(socket), _adopt(std::move(adopt)) {}

	void run() override { _adopt(socket()); }

private:
	std::function<void(const Poco::Net::StreamSocket&)> _adopt;
};

class HandOffFactory: public Poco::Net::TCPServerConnectionFactory
{
public:
	explicit HandOffFactory(std::function<void(const Poco::Net::StreamSocket&)> adopt): _adopt(std::move(adopt)) {}

	Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override
	{
		return new HandOff(socket, _adopt);
	}

private:
	std::function<void(const Poco::Net::StreamSocket&)> _adopt;
};

} // namespace


AdminServer::AdminServer(const Config::Endpoint& address, ViewProvider provider):
	_threads("fo-admin", 1, 1),
	_socket(Net::Listener::listen(address, 128)),
	_pConnections(std::make_unique<Connections>(std::move(provider)))
{
	Poco::Net::TCPServerParams::Ptr pParams = new Poco::Net::TCPServerParams;
	pParams->setMaxThreads(1);
	pParams->setMaxQueued(1024); // hand-offs take microseconds: the queue only absorbs a burst
	pParams->setThreadIdleTime(Poco::Timespan(1, 0)); // see ProxyServer: stop() must not wait long
	Connections* pConnections = _pConnections.get();
	_pServer = std::make_unique<Poco::Net::TCPServer>(
		new HandOffFactory([pConnections](const Poco::Net::StreamSocket& socket) { pConnections->adopt(socket); }),
		_threads, _socket, pParams);
}


AdminServer::~AdminServer()
{
	try
	{
		stop();
	}
	catch (...)
	{
		poco_unexpected();
	}
}


void AdminServer::start()
{
	_pConnections->start();
	_started = true;
	_pServer->start();
}


void AdminServer::stop()
{
	if (_stopped)
		return;
	_stopped = true;
	if (_started)
		_pServer->stop();
	_socket.close();
	_threads.joinAll();
	_pConnections->stop();
}


Poco::Net::SocketAddress AdminServer::address() const
{
	return _socket.address();
}

} } // namespace ForwardOptimal::Admin
