#include "admin/AdminServer.h"

#include "net/Listener.h"

#include "Poco/JSON/Stringifier.h"
#include "Poco/Net/HTTPRequestHandler.h"
#include "Poco/Net/HTTPRequestHandlerFactory.h"
#include "Poco/Net/HTTPServerParams.h"
#include "Poco/Net/HTTPServerRequest.h"
#include "Poco/Net/HTTPServerResponse.h"

#include <sstream>

namespace ForwardOptimal {
namespace Admin {

namespace {

using Poco::Net::HTTPResponse;

class Handler: public Poco::Net::HTTPRequestHandler
{
public:
	explicit Handler(const AdminServer::ViewProvider& provider): _provider(provider) {}

	void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override
	{
		std::string path = request.getURI().substr(0, request.getURI().find('?'));
		bool known = path == "/metrics" || path == "/status" || path == "/healthz" || path == "/readyz";
		if (!known)
			return send(request, response, HTTPResponse::HTTP_NOT_FOUND, "text/plain", "not found: try /metrics /status /healthz /readyz\n");
		if (request.getMethod() != "GET" && request.getMethod() != "HEAD")
		{
			response.set("Allow", "GET, HEAD");
			return send(request, response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "text/plain", "method not allowed\n");
		}
		if (path == "/healthz")
			return send(request, response, HTTPResponse::HTTP_OK, "text/plain", "ok\n");

		AdminView view = _provider();
		if (path == "/readyz")
		{
			bool ready = !view.pSnapshot->paused();
			return send(request, response, ready ? HTTPResponse::HTTP_OK : HTTPResponse::HTTP_SERVICE_UNAVAILABLE,
				"text/plain", ready ? "ready\n" : "not ready: no healthy target\n");
		}
		if (path == "/metrics")
			return send(request, response, HTTPResponse::HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", Metrics::prometheus(view));
		std::ostringstream json;
		Poco::JSON::Stringifier::stringify(Metrics::status(view), json, 2);
		send(request, response, HTTPResponse::HTTP_OK, "application/json", json.str() + "\n");
	}

private:
	static void send(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
		HTTPResponse::HTTPStatus status, const std::string& type, const std::string& body)
	{
		response.setStatus(status);
		response.setContentType(type);
		response.setContentLength(static_cast<std::streamsize>(body.size()));
		response.set("Cache-Control", "no-store");
		std::ostream& out = response.send();
		if (request.getMethod() != "HEAD")
			out << body;
	}

	const AdminServer::ViewProvider& _provider;
};

class Factory: public Poco::Net::HTTPRequestHandlerFactory
{
public:
	explicit Factory(AdminServer::ViewProvider provider): _provider(std::move(provider)) {}

	Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override
	{
		return new Handler(_provider);
	}

private:
	AdminServer::ViewProvider _provider;
};

} // namespace


AdminServer::AdminServer(const Config::Endpoint& address, ViewProvider provider):
	_threads("fo-admin", 1, 2),
	_socket(Net::Listener::listen(address, 64))
{
	Poco::Net::HTTPServerParams::Ptr pParams = new Poco::Net::HTTPServerParams;
	pParams->setMaxThreads(2);
	pParams->setMaxQueued(16);
	pParams->setTimeout(Poco::Timespan(5, 0));
	pParams->setKeepAlive(true);
	pParams->setThreadIdleTime(Poco::Timespan(1, 0)); // see ProxyServer: stop() must not wait long
	_pServer = std::make_unique<Poco::Net::HTTPServer>(new Factory(std::move(provider)), _threads, _socket, pParams);
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
	_pServer->start();
}


void AdminServer::stop()
{
	if (_stopped)
		return;
	_stopped = true;
	_pServer->stopAll(true);
	_socket.close();
	_threads.joinAll();
}


Poco::Net::SocketAddress AdminServer::address() const
{
	return _socket.address();
}

} } // namespace ForwardOptimal::Admin
