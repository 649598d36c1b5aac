#pragma once

#include "Poco/JSON/Object.h"

#include <chrono>
#include <map>
#include <string>

namespace ForwardOptimal {
namespace Test {

/// One HTTP answer.
struct HttpReply
{
	int status = 0;
	std::string type;   ///< Content-Type
	std::string body;
};

HttpReply httpRequest(const std::string& address, const std::string& pathAndQuery, const std::string& method = "GET",
	std::chrono::seconds timeout = std::chrono::seconds(10));
	/// One HTTP/1.1 request to "host:port" (IPv6 in brackets); throws Poco::Exception when no
	/// answer comes (refused, reset, timeout).

/// A client of ForwardOptimal's admin endpoint (/metrics, /status, /healthz, /readyz) at
/// "host:port". Every request has a 10 s timeout. Holds no connection between requests;
/// safe to use from several threads.
class AdminClient
{
public:
	using Labels = std::map<std::string, std::string>;

	explicit AdminClient(std::string address, std::chrono::milliseconds retryFor = std::chrono::milliseconds(0));
		/// With `retryFor`, a request that fails at the network level is asked again (every
		/// 100 ms) until that much time has passed: the endpoint shares the process's
		/// descriptors, and a case that has taken them all sees its requests reset.

	const std::string& address() const { return _address; }

	HttpReply request(const std::string& path, const std::string& method = "GET") const;
	int statusCode(const std::string& path) const { return request(path).status; }
		/// The HTTP status of a GET, e.g. statusCode("/readyz").

	std::string metrics() const;
		/// The /metrics text.
	double metric(const std::string& name, const Labels& labels = Labels()) const;
		/// The value of the sample `name` with exactly `labels` in /metrics, or -1 if absent.
	Poco::JSON::Object::Ptr status() const;
		/// /status, parsed.

	static double sample(const std::string& metrics, const std::string& name, const Labels& labels = Labels());
		/// The same lookup in a metrics text already fetched.

private:
	std::string _address;
	std::chrono::milliseconds _retryFor;
};

} } // namespace ForwardOptimal::Test
