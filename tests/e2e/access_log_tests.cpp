// The access log (accessLog, accessLogFormat) with the real binary: one line per session on the
// logger ForwardOptimal.Access, sent to a file of its own through the `logging` section (as
// README and etc/logging-example.json show), checked field by field for a completed, an
// idle-timed-out, a reset, a refused and a drained session, in both forms; off by default; a reload
// turns it on.
#include "Backend.h"
#include "RunningProxy.h"
#include "SettingsBuilder.h"
#include "TestSupport.h"

#include "Poco/JSON/Object.h"
#include "Poco/JSON/Parser.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/StreamSocket.h"

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

using namespace ForwardOptimal::Test;

namespace {

using Fields = std::map<std::string, std::string>;

const std::vector<std::string> FIELDS = {"id", "client", "target", "upstream", "pooled", "proxyHeader",
	"bytesUp", "bytesDown", "durationMs", "end", "reason", "error"};

// A `logging` section that sends ForwardOptimal.Access, and only it, to `path`, bare lines.
std::string accessLogTo(const std::string& path)
{
	return "{\"formatters\": {\"bare\": {\"class\": \"PatternFormatter\", \"pattern\": \"%t\"}},"
		" \"channels\": {\"access\": {\"class\": \"FileChannel\", \"path\": " + SettingsBuilder::quote(path) + ", \"formatter\": \"bare\"}},"
		" \"loggers\": {\"access\": {\"name\": \"ForwardOptimal.Access\", \"channel\": \"access\", \"level\": \"information\"}}}";
}

// ForwardOptimal in front of `targets`, probing every 0.3 s, access log on in `format`, written
// to access.log in `dir`.
SettingsBuilder withAccessLog(const std::vector<std::string>& targets, const std::string& format, const TempDir& dir)
{
	return SettingsBuilder::loopback(targets).set("updateInterval", 0.3).set("failureInterval", 0.3)
		.set("poolSize", 0).set("accessLog", true).set("accessLogFormat", format)
		.setJson("logging", accessLogTo(dir.path() + "/access.log"));
}

std::vector<std::string> lines(const std::string& path)
{
	std::ifstream in(path);
	std::vector<std::string> out;
	for (std::string line; std::getline(in, line);)
		if (!line.empty())
			out.push_back(line);
	return out;
}

// The text form: `key=value` fields separated by one space; `error="..."` may hold spaces.
Fields parseText(const std::string& line)
{
	Fields fields;
	std::size_t at = 0;
	while (at < line.size())
	{
		std::size_t equals = line.find('=', at);
		BOOST_TEST_REQUIRE(equals != std::string::npos, line);
		std::string key = line.substr(at, equals - at);
		std::size_t end;
		std::string value;
		if (equals + 1 < line.size() && line[equals + 1] == '"')
		{
			end = line.find('"', equals + 2);
			BOOST_TEST_REQUIRE(end != std::string::npos, line);
			value = line.substr(equals + 2, end - equals - 2);
			++end;
		}
		else
		{
			end = line.find(' ', equals);
			end = end == std::string::npos ? line.size() : end;
			value = line.substr(equals + 1, end - equals - 1);
		}
		BOOST_TEST(fields.count(key) == 0u, key << " twice in " << line);
		fields[key] = value;
		at = end + 1;
	}
	return fields;
}

// The JSON form, in the text form's spelling: null -> "-", true/false -> "yes"/"no".
Fields parseJson(const std::string& line)
{
	Poco::JSON::Object::Ptr object = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
	Fields fields;
	for (const auto& name : FIELDS)
	{
		BOOST_TEST_REQUIRE(object->has(name), name << " missing in " << line);
		Poco::Dynamic::Var value = object->get(name);
		if (value.isEmpty())
			fields[name] = "-";
		else if (value.isBoolean())
			fields[name] = value.convert<bool>() ? "yes" : "no";
		else if (name == "durationMs" || name == "bytesUp" || name == "bytesDown")
		{
			BOOST_TEST_REQUIRE(value.isNumeric(), name << " is not a number in " << line);
			std::ostringstream out;
			out << value.convert<double>();
			fields[name] = out.str();
		}
		else
		{
			BOOST_TEST_REQUIRE(value.isString(), name << " is not a string in " << line);
			fields[name] = value.toString();
		}
	}
	BOOST_TEST(object->size() == FIELDS.size(), line);
	return fields;
}

// Waits for the access log's `n`th line and returns its fields, from either form.
Fields waitForLine(const std::string& path, const std::string& format, std::size_t n = 1)
{
	std::vector<std::string> got;
	BOOST_TEST_REQUIRE(waitFor([&] { got = lines(path); return got.size() >= n; }, 20s), "no access log line " << n << " in " << path);
	BOOST_TEST(got.size() == n, "more lines than expected: " << got.back());
	const std::string& line = got[n - 1];
	BOOST_TEST_MESSAGE(format << ": " << line);
	if (format == "json")
	{
		BOOST_TEST_REQUIRE(line.front() == '{', line);
		return parseJson(line);
	}
	Fields fields = parseText(line);
	std::vector<std::string> keys;
	std::size_t at = 0;
	for (const auto& name : FIELDS) // every field, in this order
	{
		std::size_t found = line.find(name + "=", at);
		BOOST_TEST(found != std::string::npos, name << " missing or out of order in " << line);
		at = found == std::string::npos ? at : found;
	}
	BOOST_TEST(fields.size() == FIELDS.size(), line);
	return fields;
}

std::string localOf(const Poco::Net::StreamSocket& socket)
{
	return socket.address().toString();
}

double durationOf(const Fields& fields)
{
	return std::strtod(fields.at("durationMs").c_str(), nullptr);
}

const std::vector<std::string> FORMATS = {"text", "json"};

} // namespace

BOOST_AUTO_TEST_SUITE(access_log_tests)

BOOST_AUTO_TEST_CASE(a_completed_session_is_one_line_with_every_field)
{
	for (const auto& format : FORMATS)
	{
		BOOST_TEST_CONTEXT(format)
		{
			Backend backend(Backend::echo());
			TempDir dir;
			RunningProxy fo(withAccessLog({backend.address()}, format, dir));
			Poco::Net::StreamSocket client(fo.listen());
			std::string address = localOf(client);
			Backend::sendAll(client, "hello, log");
			client.shutdownSend();
			BOOST_TEST(Backend::readAll(client) == "hello, log");

			Fields line = waitForLine(dir.path() + "/access.log", format);
			// The session's unique id (the one a PROXY v2 UNIQUE_ID TLV would carry): 32 hex digits.
			BOOST_TEST(line["id"].size() == 32u, line["id"]);
			BOOST_TEST(line["id"].find_first_not_of("0123456789abcdef") == std::string::npos, line["id"]);
			BOOST_TEST(line["client"] == address);
			BOOST_TEST(line["target"] == backend.address());
			BOOST_TEST(line["upstream"] == backend.address());
			BOOST_TEST(line["pooled"] == "no");
			BOOST_TEST(line["proxyHeader"] == "none");
			BOOST_TEST(line["bytesUp"] == "10");
			BOOST_TEST(line["bytesDown"] == "10");
			BOOST_TEST(durationOf(line) >= 0.0);
			BOOST_TEST(durationOf(line) < 20000.0);
			BOOST_TEST(line["end"] == "completed");
			BOOST_TEST(line["reason"] == "-");
			BOOST_TEST(line["error"] == "-");
			// Only the access logger writes there; the console keeps the rest, and no access line.
			BOOST_TEST(fo.log().find("end=completed") == std::string::npos, fo.log());
			BOOST_TEST(fo.stop(SIGTERM) == 0);
		}
	}
}

// With the pool on and a PROXY v2 header: pooled says whether the pool served it (the pool's
// own counters say the same), proxyHeader "v2", bytesDown counts the client's bytes only.
BOOST_AUTO_TEST_CASE(pooled_and_proxy_header_are_reported)
{
	Backend backend(Backend::echo());
	TempDir dir;
	RunningProxy fo(withAccessLog({backend.address()}, "json", dir).set("poolSize", 2).set("proxyProtocol", "v2"));
	AdminClient admin = fo.admin();
	BOOST_TEST_REQUIRE(waitFor([&] { return admin.metric("forwardoptimal_target_up", {{"target", backend.address()}}) == 1; }, 20s));
	Poco::Net::StreamSocket client(fo.listen());
	Backend::sendAll(client, "abc");
	client.shutdownSend();
	std::string echoed = Backend::readAll(client); // the v2 header (28 bytes for IPv4), then "abc"
	BOOST_TEST(echoed.size() == 28u + 3u);

	Fields line = waitForLine(dir.path() + "/access.log", "json");
	BOOST_TEST(line["proxyHeader"] == "v2");
	BOOST_TEST(line["bytesUp"] == "3");
	BOOST_TEST(line["bytesDown"] == "31");
	BOOST_TEST(line["end"] == "completed");
	bool pooled = admin.metric("forwardoptimal_pool_hits_total") == 1;
	BOOST_TEST(line["pooled"] == (pooled ? "yes" : "no"));
}

BOOST_AUTO_TEST_CASE(an_idle_session_ends_with_idle_timeout)
{
	for (const auto& format : FORMATS)
	{
		BOOST_TEST_CONTEXT(format)
		{
			Backend backend(Backend::echo());
			TempDir dir;
			RunningProxy fo(withAccessLog({backend.address()}, format, dir).set("idleTimeout", 0.3));
			Poco::Net::StreamSocket client(fo.listen());
			std::string address = localOf(client);
			Backend::sendAll(client, "x");
			BOOST_TEST(Backend::readAll(client) == "x"); // then silence: the proxy closes it

			Fields line = waitForLine(dir.path() + "/access.log", format);
			BOOST_TEST(line["client"] == address);
			BOOST_TEST(line["target"] == backend.address());
			BOOST_TEST(line["bytesUp"] == "1");
			BOOST_TEST(line["bytesDown"] == "1");
			BOOST_TEST(line["end"] == "idle_timeout");
			BOOST_TEST(durationOf(line) >= 300.0);
			BOOST_TEST(line["reason"] == "-");
			BOOST_TEST(line["error"] == "-");
		}
	}
}

BOOST_AUTO_TEST_CASE(a_client_reset_ends_with_client_error_and_its_errno_text)
{
	for (const auto& format : FORMATS)
	{
		BOOST_TEST_CONTEXT(format)
		{
			Backend backend(Backend::echo());
			TempDir dir;
			RunningProxy fo(withAccessLog({backend.address()}, format, dir));
			Poco::Net::StreamSocket client(fo.listen());
			std::string address = localOf(client);
			Backend::sendAll(client, "ping");
			char echoed[4];
			client.setReceiveTimeout(Poco::Timespan(10, 0));
			BOOST_TEST_REQUIRE(client.receiveBytes(echoed, 4) == 4);
			client.setLinger(true, 0);
			client.close(); // RST

			Fields line = waitForLine(dir.path() + "/access.log", format);
			BOOST_TEST(line["client"] == address);
			BOOST_TEST(line["bytesUp"] == "4");
			BOOST_TEST(line["bytesDown"] == "4");
			BOOST_TEST(line["end"] == "client_error");
			BOOST_TEST(line["error"] == "Connection reset by peer");
			BOOST_TEST(line["reason"] == "-");
		}
	}
}

BOOST_AUTO_TEST_CASE(an_upstream_reset_ends_with_upstream_error)
{
	// Reads the first bytes, then resets.
	Backend backend([](Poco::Net::StreamSocket& socket) {
		char buffer[16];
		socket.receiveBytes(buffer, sizeof(buffer));
		socket.setLinger(true, 0);
		socket.close();
	});
	TempDir dir;
	RunningProxy fo(withAccessLog({backend.address()}, "text", dir));
	Poco::Net::StreamSocket client(fo.listen());
	Backend::sendAll(client, "boom");
	try
	{
		Backend::readAll(client);
	}
	catch (const Poco::Net::NetException&)
	{
		// the reset passed on: expected
	}
	Fields line = waitForLine(dir.path() + "/access.log", "text");
	BOOST_TEST(line["target"] == backend.address());
	BOOST_TEST(line["bytesUp"] == "4");
	BOOST_TEST(line["end"] == "upstream_error");
	BOOST_TEST(line["error"] == "Connection reset by peer");
}

BOOST_AUTO_TEST_CASE(a_client_refused_without_a_healthy_target_says_why)
{
	for (const auto& format : FORMATS)
	{
		BOOST_TEST_CONTEXT(format)
		{
			// A loopback port nothing listens on: the only target is down, the service paused.
			std::string nowhere;
			{
				Backend gone(Backend::hold());
				nowhere = gone.address();
			}
			TempDir dir;
			RunningProxy fo(withAccessLog({nowhere}, format, dir));
			AdminClient admin = fo.admin();
			BOOST_TEST_REQUIRE(waitFor([&] { return admin.metric("forwardoptimal_paused") == 1; }, 20s));
			Poco::Net::StreamSocket client(fo.listen());
			std::string address = localOf(client);

			Fields line = waitForLine(dir.path() + "/access.log", format);
			BOOST_TEST(line["client"] == address);
			BOOST_TEST(line["target"] == "-");
			BOOST_TEST(line["upstream"] == "-");
			BOOST_TEST(line["bytesUp"] == "0");
			BOOST_TEST(line["bytesDown"] == "0");
			BOOST_TEST(line["end"] == "refused");
			BOOST_TEST(line["reason"] == "no_healthy_target");
		}
	}
}

BOOST_AUTO_TEST_CASE(a_client_refused_at_accept_by_the_per_source_limit_is_logged)
{
	for (const auto& format : FORMATS)
	{
		BOOST_TEST_CONTEXT(format)
		{
			Backend backend(Backend::hold());
			TempDir dir;
			RunningProxy fo(withAccessLog({backend.address()}, format, dir).set("maxConnectionsPerSource", 1));
			Poco::Net::StreamSocket first(fo.listen());
			BOOST_TEST_REQUIRE(waitFor([&] { return backend.accepted() == 1; }, 20s));
			Poco::Net::StreamSocket second(fo.listen());
			std::string address = localOf(second);
			BOOST_TEST_REQUIRE(waitFor([&] { return fo.admin().metric("forwardoptimal_connections_refused_total", {{"reason", "per_source_limit"}}) == 1; }, 20s), fo.log());

			Fields line = waitForLine(dir.path() + "/access.log", format);
			BOOST_TEST(line["client"] == address);
			BOOST_TEST(line["target"] == "-");
			BOOST_TEST(line["end"] == "refused");
			BOOST_TEST(line["reason"] == "per_source_limit");

			// The first session, held open so far, is the second line once it ends.
			std::string firstAddress = localOf(first);
			first.shutdownSend();
			BOOST_TEST(Backend::readAll(first).empty());
			Fields held = waitForLine(dir.path() + "/access.log", format, 2);
			BOOST_TEST(held["client"] == firstAddress);
			BOOST_TEST(held["end"] == "completed");
		}
	}
}

// SIGTERM with drainTimeout 0: a running session is closed at once and says so.
BOOST_AUTO_TEST_CASE(a_session_closed_by_the_stop_signal_ends_drained)
{
	Backend backend(Backend::hold());
	TempDir dir;
	RunningProxy fo(withAccessLog({backend.address()}, "text", dir).set("drainTimeout", 0));
	Poco::Net::StreamSocket client(fo.listen());
	std::string address = localOf(client);
	Backend::sendAll(client, "abc");
	BOOST_TEST_REQUIRE(waitFor([&] { return backend.accepted() == 1; }, 20s));
	BOOST_TEST(fo.stop(SIGTERM) == 0);
	Fields line = waitForLine(dir.path() + "/access.log", "text");
	BOOST_TEST(line["client"] == address);
	BOOST_TEST(line["target"] == backend.address());
	BOOST_TEST(line["end"] == "drained");
	BOOST_TEST(line["error"] == "-");
}

// Off by default: a session leaves no access line on the console; a reload turning it on
// applies to the next session, which writes one (to the console, where the rest goes).
BOOST_AUTO_TEST_CASE(off_by_default_and_a_reload_turns_it_on)
{
	Backend backend(Backend::echo());
	SettingsBuilder settings = SettingsBuilder::loopback({backend.address()}).set("updateInterval", 0.3).set("poolSize", 0);
	RunningProxy fo(settings);
	auto session = [&](const std::string& text) {
		Poco::Net::StreamSocket client(fo.listen());
		Backend::sendAll(client, text);
		client.shutdownSend();
		BOOST_TEST(Backend::readAll(client) == text);
	};
	AdminClient admin = fo.admin();
	session("quiet");
	BOOST_TEST_REQUIRE(waitFor([&] { return admin.metric("forwardoptimal_connections_accepted_total") == 1
		&& admin.metric("forwardoptimal_connections_active") == 0; }, 20s));

	fo.rewriteConfig(SettingsBuilder(settings).set("accessLog", true));
	fo.signal(SIGHUP);
	BOOST_TEST_REQUIRE(fo.waitForLog("配置已重新加载"), fo.log());
	session("loud!");
	BOOST_TEST_REQUIRE(fo.waitForLog("end=completed"), fo.log());
	// One line: the second session's (5 bytes), none for the first (the console is in order).
	std::string log = fo.log();
	std::size_t first = log.find("end=completed");
	BOOST_TEST(log.find("end=completed", first + 1) == std::string::npos, log);
	std::size_t start = log.rfind('\n', first);
	std::string line = log.substr(start + 1, log.find('\n', first) - start - 1);
	BOOST_TEST(line.find(" bytesUp=5 bytesDown=5 ") != std::string::npos, line);
	BOOST_TEST(line.find("[Information] id=") != std::string::npos, line);
	BOOST_TEST(line.find(" client=127.0.0.1:") != std::string::npos, line);
}

BOOST_AUTO_TEST_SUITE_END()
