#include "AdminClient.h"

#include "Poco/JSON/Parser.h"
#include "Poco/Net/HTTPClientSession.h"
#include "Poco/Net/HTTPRequest.h"
#include "Poco/Net/HTTPResponse.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/SocketAddress.h"
#include "Poco/StreamCopier.h"

#include <sstream>
#include <thread>

namespace ForwardOptimal {
namespace Test {

HttpReply httpRequest(const std::string& address, const std::string& pathAndQuery, const std::string& method,
	std::chrono::seconds timeout)
{
	Poco::Net::HTTPClientSession session{Poco::Net::SocketAddress(address)};
	session.setTimeout(Poco::Timespan(static_cast<long>(timeout.count()), 0));
	Poco::Net::HTTPRequest request(method, pathAndQuery, Poco::Net::HTTPMessage::HTTP_1_1);
	session.sendRequest(request);
	Poco::Net::HTTPResponse response;
	std::istream& in = session.receiveResponse(response);
	HttpReply reply;
	reply.status = static_cast<int>(response.getStatus());
	reply.type = response.getContentType();
	Poco::StreamCopier::copyToString(in, reply.body);
	return reply;
}


AdminClient::AdminClient(std::string address, std::chrono::milliseconds retryFor):
	_address(std::move(address)),
	_retryFor(retryFor)
{
}


HttpReply AdminClient::request(const std::string& path, const std::string& method) const
{
	for (auto deadline = std::chrono::steady_clock::now() + _retryFor;;)
	{
		try
		{
			return httpRequest(_address, path, method);
		}
		catch (const Poco::Net::NetException&)
		{
			if (std::chrono::steady_clock::now() >= deadline)
				throw;
			std::this_thread::sleep_for(std::chrono::milliseconds(100));
		}
	}
}


std::string AdminClient::metrics() const
{
	return request("/metrics").body;
}


double AdminClient::metric(const std::string& name, const Labels& labels) const
{
	return sample(metrics(), name, labels);
}


Poco::JSON::Object::Ptr AdminClient::status() const
{
	return Poco::JSON::Parser().parse(request("/status").body).extract<Poco::JSON::Object::Ptr>();
}


namespace {

// The labels of a sample line between its braces: `a="x",b="y"` (values may hold \" and \\).
AdminClient::Labels parseLabels(const std::string& text)
{
	AdminClient::Labels labels;
	std::size_t at = 0;
	while (at < text.size())
	{
		std::size_t equals = text.find("=\"", at);
		if (equals == std::string::npos)
			break;
		std::string key = text.substr(at, equals - at);
		std::string value;
		std::size_t i = equals + 2;
		for (; i < text.size() && text[i] != '"'; ++i)
		{
			if (text[i] == '\\' && i + 1 < text.size())
				++i;
			value += text[i];
		}
		labels[key] = value;
		at = text.find(',', i);
		at = at == std::string::npos ? text.size() : at + 1;
	}
	return labels;
}

} // namespace


double AdminClient::sample(const std::string& metrics, const std::string& name, const Labels& labels)
{
	std::istringstream lines(metrics);
	for (std::string line; std::getline(lines, line);)
	{
		if (line.compare(0, name.size(), name) != 0 || line.size() == name.size())
			continue;
		char next = line[name.size()];
		std::size_t valueAt;
		Labels found;
		if (next == ' ')
			valueAt = name.size() + 1;
		else if (next == '{')
		{
			std::size_t close = line.rfind('}');
			if (close == std::string::npos)
				continue;
			found = parseLabels(line.substr(name.size() + 1, close - name.size() - 1));
			valueAt = close + 2;
		}
		else
			continue; // a longer name that starts with `name`
		if (found == labels && valueAt < line.size())
			return std::stod(line.substr(valueAt));
	}
	return -1;
}

} } // namespace ForwardOptimal::Test
