#include "config/SettingsLoader.h"

#include "config/ConfigException.h"
#include "config/JsonSyntax.h"

#include "Poco/File.h"
#include "Poco/JSON/Array.h"
#include "Poco/JSON/Parser.h"
#include "Poco/Path.h"
#include "Poco/String.h"
#include "Poco/StringTokenizer.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <sys/stat.h>

namespace ForwardOptimal {
namespace Config {

namespace {

using Poco::Dynamic::Var;
using Kind = ConfigException::Kind;

// Seconds to milliseconds, where 0 keeps its meaning (none/never) and any positive value stays
// positive: 0.0001 s is 1 ms, not 0 (which would turn an idle timeout into "never").
std::chrono::milliseconds positiveMilliseconds(double seconds)
{
	long long ms = std::llround(seconds * 1000.0);
	return std::chrono::milliseconds(seconds > 0 && ms == 0 ? 1 : ms);
}

enum class ValueType { STRING, STRING_LIST, NUMBER };

struct KeySpec
{
	const char* name;
	ValueType type;
};

// Every key Settings holds. `logging` (an object for POCO's LoggingConfigurator) is handled apart.
const KeySpec KEYS[] = {
	{"bindAddr", ValueType::STRING},
	{"targets", ValueType::STRING_LIST},
	{"updateInterval", ValueType::NUMBER},
	{"failureInterval", ValueType::NUMBER},
	{"proxyProtocol", ValueType::STRING},
	{"maxConnections", ValueType::NUMBER},
	{"maxQueued", ValueType::NUMBER},
	{"maxConnectionsPerSource", ValueType::NUMBER},
	{"connectTimeout", ValueType::NUMBER},
	{"idleTimeout", ValueType::NUMBER},
	{"bufferSize", ValueType::NUMBER},
	{"poolSize", ValueType::NUMBER},
	{"poolMaxIdle", ValueType::NUMBER},
	{"probeTimeout", ValueType::NUMBER},
	{"probeMode", ValueType::STRING},
	{"switchMargin", ValueType::NUMBER},
	{"switchMarginPercent", ValueType::NUMBER},
	{"latencySmoothing", ValueType::NUMBER},
	{"maxLatency", ValueType::NUMBER},
	{"rise", ValueType::NUMBER},
	{"adminAddr", ValueType::STRING},
	{"drainTimeout", ValueType::NUMBER},
	{"fall", ValueType::NUMBER},
};

const KeySpec* findKey(const std::string& name)
{
	for (const auto& spec : KEYS)
		if (name == spec.name)
			return &spec;
	return nullptr;
}

std::size_t editDistance(const std::string& a, const std::string& b)
{
	std::vector<std::size_t> row(b.size() + 1);
	for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
	for (std::size_t i = 1; i <= a.size(); ++i)
	{
		std::size_t diagonal = row[0];
		row[0] = i;
		for (std::size_t j = 1; j <= b.size(); ++j)
		{
			std::size_t above = row[j];
			bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) == std::tolower(static_cast<unsigned char>(b[j - 1]));
			row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
			diagonal = above;
		}
	}
	return row[b.size()];
}

std::string unknownKeyWarning(const std::string& source, const std::string& key)
{
	std::string text = source + ": unknown key '" + key + "' is ignored";
	std::string best;
	std::size_t bestDistance = 3;
	for (const auto& spec : KEYS)
	{
		std::size_t distance = editDistance(key, spec.name);
		if (distance < bestDistance)
		{
			bestDistance = distance;
			best = spec.name;
		}
	}
	if (!best.empty())
		text += " (did you mean '" + best + "'?)";
	return text;
}

std::string typeName(const Var& value)
{
	if (value.isEmpty()) return "null";
	if (value.isBoolean()) return "a boolean";
	if (value.isString()) return "a string";
	if (value.isNumeric()) return "a number";
	if (value.type() == typeid(Poco::JSON::Array::Ptr)) return "an array";
	if (value.type() == typeid(Poco::JSON::Object::Ptr)) return "an object";
	return "an unsupported value";
}

// Parses a text JsonSyntax accepted. POCO's parser still refuses some of those (invalid UTF-8,
// an unpaired \u surrogate, a number beyond 64 bits or a double): that is a ConfigException
// too, never a POCO exception escaping the loader.
Var parseJson(const std::string& text, Kind kind, const std::string& source, const std::string& key, const std::string& context)
{
	try
	{
		return Poco::JSON::Parser().parse(text);
	}
	catch (const Poco::Exception& error)
	{
		throw ConfigException(kind, source, key, context + error.message());
	}
}

// Turns the text of `-D key=value` into the JSON value the key expects, so that overrides
// go through exactly the same validation as the file.
Var overrideValue(const KeySpec& spec, const std::string& text)
{
	switch (spec.type)
	{
	case ValueType::STRING:
		return text;
	case ValueType::NUMBER:
	{
		std::string trimmed = Poco::trim(text);
		char* end = nullptr;
		errno = 0;
		double number = trimmed.empty() ? 0.0 : std::strtod(trimmed.c_str(), &end);
		if (trimmed.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(number))
			throw ConfigException(Kind::INVALID, "-D", spec.name, "must be a number, got '" + text + "'");
		return number;
	}
	case ValueType::STRING_LIST:
	{
		std::string trimmed = Poco::trim(text);
		if (!trimmed.empty() && trimmed[0] == '[')
		{
			std::string error = JsonSyntax::findError(trimmed);
			if (!error.empty())
				throw ConfigException(Kind::INVALID, "-D", spec.name, "not a valid JSON array: " + error);
			return parseJson(trimmed, Kind::INVALID, "-D", spec.name, "not a valid JSON array: ");
		}
		Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
		Poco::StringTokenizer items(trimmed, ",", Poco::StringTokenizer::TOK_TRIM);
		for (const auto& item : items)
			list->add(item);
		return list;
	}
	}
	return Var();
}

// Reads keys from the merged document and knows, for each key, whether the file or -D set it,
// so every message points at the place to fix.
class Reader
{
public:
	Reader(Poco::JSON::Object::Ptr document, std::string file, std::set<std::string> overridden):
		_document(std::move(document)),
		_file(std::move(file)),
		_overridden(std::move(overridden))
	{
	}

	[[noreturn]] void fail(const std::string& key, const std::string& problem) const
	{
		throw ConfigException(Kind::INVALID, _overridden.count(key) ? "-D" : _file, key, problem);
	}

	bool has(const std::string& key) const { return _document->has(key); }

	Var get(const std::string& key) const
	{
		if (!_document->has(key))
			fail(key, "is required but missing");
		return _document->get(key);
	}

	std::string string(const std::string& key, const std::string& fallback) const
	{
		if (!has(key))
			return fallback;
		Var value = get(key);
		if (!value.isString())
			fail(key, "must be a string, got " + typeName(value));
		return value.toString();
	}

	double number(const std::string& key) const
	{
		Var value = get(key);
		if (value.isBoolean() || !value.isNumeric())
			fail(key, "must be a number, got " + typeName(value)
				+ (value.isString() ? " (write " + value.toString() + " without quotes)" : ""));
		return value.convert<double>();
	}

	std::chrono::milliseconds seconds(const std::string& key, std::chrono::milliseconds fallback, bool required) const
	{
		if (!required && !has(key))
			return fallback;
		double value = number(key);
		if (!(value > 0))
			fail(key, "must be a number of seconds greater than 0, got " + format(value));
		if (value < 0.001 || value > 86400)
			fail(key, "must be between 0.001 and 86400 seconds, got " + format(value));
		return std::chrono::milliseconds(static_cast<long long>(std::llround(value * 1000.0)));
	}

	double ranged(const std::string& key, double fallback, double low, double high, const std::string& unit) const
	{
		if (!has(key))
			return fallback;
		double value = number(key);
		if (value < low || value > high)
			fail(key, "must be from " + format(low) + " to " + format(high) + unit + ", got " + format(value));
		return value;
	}

	unsigned wholeNumber(const std::string& key, unsigned fallback, unsigned low, unsigned high) const
	{
		if (!has(key))
			return fallback;
		double value = number(key);
		if (value != std::floor(value) || value < low || value > high)
			fail(key, "must be a whole number from " + std::to_string(low) + " to " + std::to_string(high)
				+ ", got " + format(value));
		return static_cast<unsigned>(value);
	}

	std::vector<std::string> stringList(const std::string& key) const
	{
		Var value = get(key);
		if (value.type() != typeid(Poco::JSON::Array::Ptr))
			fail(key, "must be an array of \"host:port\" strings, got " + typeName(value));
		Poco::JSON::Array::Ptr array = value.extract<Poco::JSON::Array::Ptr>();
		std::vector<std::string> items;
		for (std::size_t i = 0; i < array->size(); ++i)
		{
			Var item = array->get(static_cast<unsigned>(i));
			if (!item.isString())
				fail(key, "element " + std::to_string(i + 1) + " must be a \"host:port\" string, got " + typeName(item));
			items.push_back(item.toString());
		}
		return items;
	}

	static std::string format(double value)
	{
		std::ostringstream out;
		out << value;
		return out.str();
	}

private:
	Poco::JSON::Object::Ptr _document;
	std::string _file;
	std::set<std::string> _overridden;
};

std::shared_ptr<const Settings> buildSettings(const Reader& reader, const std::string& file)
{
	auto settings = std::make_shared<Settings>();
	settings->sourceFile = file;

	std::string bind = reader.string("bindAddr", std::string());
	if (!reader.has("bindAddr"))
		reader.fail("bindAddr", "is required but missing (for example \":8080\")");
	try
	{
		settings->bindAddr = Endpoint::parseListen(bind);
	}
	catch (const Poco::InvalidArgumentException& error)
	{
		reader.fail("bindAddr", error.message());
	}

	std::vector<std::string> targets = reader.stringList("targets");
	if (targets.empty())
		reader.fail("targets", "must list at least one \"host:port\"");
	for (std::size_t i = 0; i < targets.size(); ++i)
	{
		Endpoint target;
		try
		{
			target = Endpoint::parseTarget(targets[i]);
		}
		catch (const Poco::InvalidArgumentException& error)
		{
			reader.fail("targets", "element " + std::to_string(i + 1) + ": " + error.message());
		}
		auto same = std::find(settings->targets.begin(), settings->targets.end(), target);
		if (same != settings->targets.end())
			reader.fail("targets", "'" + targets[i] + "' is listed twice (elements "
				+ std::to_string(same - settings->targets.begin() + 1) + " and " + std::to_string(i + 1) + ")");
		settings->targets.push_back(target);
	}

	settings->updateInterval = reader.seconds("updateInterval", std::chrono::milliseconds(0), true);
	settings->failureInterval = reader.seconds("failureInterval", settings->failureInterval, false);

	std::string protocol = reader.string("proxyProtocol", "");
	if (protocol == "v1")
		settings->proxyProtocol = ProxyProtocol::V1;
	else if (protocol == "v2")
		settings->proxyProtocol = ProxyProtocol::V2;
	else if (!protocol.empty())
		reader.fail("proxyProtocol", "must be \"\", \"v1\" or \"v2\", got \"" + protocol + "\"");

	settings->maxConnections = reader.wholeNumber("maxConnections", settings->maxConnections, 1, 100000);
	settings->maxQueued = reader.wholeNumber("maxQueued", settings->maxQueued, 1, 100000);
	settings->maxConnectionsPerSource = reader.wholeNumber("maxConnectionsPerSource", settings->maxConnectionsPerSource, 0, 100000);

	settings->connectTimeout = reader.seconds("connectTimeout", settings->connectTimeout, false);
	if (reader.has("idleTimeout"))
	{
		double idle = reader.ranged("idleTimeout", 30, 0, 86400, " seconds (0 = no idle timeout)");
		settings->idleTimeout = positiveMilliseconds(idle);
	}
	settings->bufferSize = reader.wholeNumber("bufferSize", static_cast<unsigned>(settings->bufferSize), 1024, 1048576);
	settings->poolSize = reader.wholeNumber("poolSize", settings->poolSize, 0, 64);
	// PROXY receivers give up on a silent connection after a few seconds (the spec allows 3 s),
	// so with the header on, pooled sockets are recycled sooner by default.
	if (settings->proxyProtocol != ProxyProtocol::NONE)
		settings->poolMaxIdle = std::chrono::milliseconds(2000);
	settings->poolMaxIdle = reader.seconds("poolMaxIdle", settings->poolMaxIdle, false);
	settings->probeTimeout = reader.seconds("probeTimeout", settings->probeTimeout, false);
	std::string probeMode = reader.string("probeMode", toString(settings->probeMode));
	if (probeMode == "connect")
		settings->probeMode = ProbeMode::CONNECT;
	else if (probeMode != "syn")
		reader.fail("probeMode", "must be \"syn\" or \"connect\", got \"" + probeMode + "\"");
	settings->switchMarginMs = reader.ranged("switchMargin", settings->switchMarginMs, 0, 60000, " ms");
	settings->switchMarginPercent = reader.ranged("switchMarginPercent", settings->switchMarginPercent, 0, 1000, " %");
	settings->latencySmoothing = reader.ranged("latencySmoothing", settings->latencySmoothing, 0, 1, "");
	if (settings->latencySmoothing <= 0)
		reader.fail("latencySmoothing", "must be greater than 0 (1 = use each sample as it is), got 0");
	settings->maxLatencyMs = reader.ranged("maxLatency", settings->maxLatencyMs, 0, 60000, " ms");
	settings->rise = reader.wholeNumber("rise", settings->rise, 1, 100);
	std::string admin = reader.string("adminAddr", settings->adminAddr.toString());
	settings->adminEnabled = !admin.empty();
	if (settings->adminEnabled)
	{
		try
		{
			settings->adminAddr = Endpoint::parseListen(admin);
		}
		catch (const Poco::InvalidArgumentException& error)
		{
			reader.fail("adminAddr", error.message() + "; use \"\" to turn the admin endpoint off");
		}
	}
	if (reader.has("drainTimeout"))
	{
		double drain = reader.ranged("drainTimeout", 10, 0, 3600, " seconds");
		settings->drainTimeout = positiveMilliseconds(drain);
	}
	settings->fall = reader.wholeNumber("fall", settings->fall, 1, 100);
	if (settings->probeTimeout > std::chrono::milliseconds(60000))
		reader.fail("probeTimeout", "must be at most 60 seconds, got " + Reader::format(static_cast<double>(settings->probeTimeout.count()) / 1000.0));
	return settings;
}

std::string readWholeFile(const std::string& path)
{
	Poco::File file(path);
	if (!file.exists())
		throw ConfigException(Kind::FILE_MISSING, path, "", "configuration file not found");
	if (file.isDirectory())
		throw ConfigException(Kind::FILE_UNREADABLE, path, "", "is a directory, not a configuration file");
	std::ifstream in(path, std::ios::binary);
	if (!in)
		throw ConfigException(Kind::FILE_UNREADABLE, path, "", std::string("cannot be read: ") + std::strerror(errno));
	std::ostringstream content;
	content << in.rdbuf();
	if (in.bad())
		throw ConfigException(Kind::FILE_UNREADABLE, path, "", "read error");
	return content.str();
}

} // namespace


bool SettingsLoader::isSettingsKey(const std::string& key)
{
	return findKey(key) != nullptr;
}


LoadResult SettingsLoader::loadFile(const std::string& path, const Overrides& overrides)
{
	std::string absolute = Poco::Path(path).absolute().toString();
	LoadResult result = loadText(readWholeFile(absolute), absolute, overrides);
	// The file decides where every client's bytes go: anyone who can write it can redirect them.
	struct stat status{};
	if (::stat(absolute.c_str(), &status) == 0 && (status.st_mode & S_IWOTH))
	{
		char mode[8];
		std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(status.st_mode & 07777));
		result.warnings.push_back(absolute + " can be modified by any user (mode " + mode
			+ "), and it decides where clients' traffic goes: chmod o-w '" + absolute + "'");
	}
	return result;
}


LoadResult SettingsLoader::loadText(const std::string& text, const std::string& sourceName, const Overrides& overrides)
{
	std::string error = JsonSyntax::findError(text);
	if (!error.empty())
		throw ConfigException(Kind::SYNTAX, sourceName, "", "invalid JSON: " + error);

	Var parsed = parseJson(text, Kind::SYNTAX, sourceName, "", "invalid JSON: ");
	if (parsed.type() != typeid(Poco::JSON::Object::Ptr))
		throw ConfigException(Kind::INVALID, sourceName, "", "the top level must be a JSON object { ... }, got " + typeName(parsed));

	LoadResult result;
	result.document = parsed.extract<Poco::JSON::Object::Ptr>();

	std::vector<std::string> names;
	result.document->getNames(names);
	for (const auto& name : names)
	{
		if (name == "logging")
		{
			if (!result.document->isObject(name))
				throw ConfigException(Kind::INVALID, sourceName, name, "must be an object of POCO logging settings (see etc/logging-example.json)");
		}
		else if (!findKey(name))
			result.warnings.push_back(unknownKeyWarning(sourceName, name));
	}

	std::set<std::string> overridden;
	for (const auto& [key, value] : overrides)
	{
		if (key.rfind("logging.", 0) == 0)
			continue; // POCO's logging configurator reads these from the layered configuration
		const KeySpec* spec = findKey(key);
		if (!spec)
		{
			result.warnings.push_back(unknownKeyWarning("-D", key));
			continue;
		}
		result.document->set(key, overrideValue(*spec, value));
		overridden.insert(key);
	}

	result.settings = buildSettings(Reader(result.document, sourceName, overridden), sourceName);
	return result;
}

} } // namespace ForwardOptimal::Config
