#include "config/SettingsLoader.h"

#include "config/ConfigException.h"
#include "config/JsonSyntax.h"
#include "config/KeyValue.h"
#include "config/SettingsKey.h"

#include "Poco/File.h"
#include "Poco/JSON/Array.h"
#include "Poco/JSON/Parser.h"
#include "Poco/Path.h"
#include "Poco/String.h"
#include "Poco/StringTokenizer.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <sys/stat.h>

namespace ForwardOptimal {
namespace Config {

namespace {

using Poco::Dynamic::Var;
using Kind = ConfigException::Kind;

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
	for (const auto& known : SettingsKey::all())
	{
		std::size_t distance = editDistance(key, known.name());
		if (distance < bestDistance)
		{
			bestDistance = distance;
			best = known.name();
		}
	}
	if (!best.empty())
		text += " (did you mean '" + best + "'?)";
	return text;
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
Var overrideValue(const SettingsKey& key, const std::string& text)
{
	switch (key.type())
	{
	case SettingsKey::Type::STRING:
		return text;
	case SettingsKey::Type::NUMBER:
	{
		std::string trimmed = Poco::trim(text);
		char* end = nullptr;
		errno = 0;
		double number = trimmed.empty() ? 0.0 : std::strtod(trimmed.c_str(), &end);
		if (trimmed.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(number))
			throw ConfigException(Kind::INVALID, "-D", key.name(), "must be a number, got '" + text + "'");
		return number;
	}
	case SettingsKey::Type::BOOLEAN:
	{
		std::string trimmed = Poco::trim(text);
		if (trimmed == "true" || trimmed == "false")
			return trimmed == "true";
		throw ConfigException(Kind::INVALID, "-D", key.name(), "must be true or false, got '" + text + "'");
	}
	case SettingsKey::Type::STRING_LIST:
	{
		std::string trimmed = Poco::trim(text);
		if (!trimmed.empty() && trimmed[0] == '[')
		{
			std::string error = JsonSyntax::findError(trimmed);
			if (!error.empty())
				throw ConfigException(Kind::INVALID, "-D", key.name(), "not a valid JSON array: " + error);
			return parseJson(trimmed, Kind::INVALID, "-D", key.name(), "not a valid JSON array: ");
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

// Warnings for the document's keys that no row of the table knows; `logging` is POCO's own.
std::vector<std::string> unknownKeys(const Poco::JSON::Object& document, const std::string& source)
{
	std::vector<std::string> warnings;
	std::vector<std::string> names;
	document.getNames(names);
	for (const auto& name : names)
	{
		if (name == "logging")
		{
			if (!document.isObject(name))
				throw ConfigException(Kind::INVALID, source, name, "must be an object of POCO logging settings (see etc/logging-example.json)");
		}
		else if (!SettingsKey::find(name))
			warnings.push_back(unknownKeyWarning(source, name));
	}
	return warnings;
}

// Puts each `-D` value into the document, converted to the type its key expects; returns the
// keys set so, for their messages to blame -D. Unknown keys are warnings.
std::set<std::string> applyOverrides(Poco::JSON::Object& document, const Overrides& overrides, std::vector<std::string>& warnings)
{
	std::set<std::string> overridden;
	for (const auto& [key, value] : overrides)
	{
		if (key.rfind("logging.", 0) == 0)
			continue; // POCO's logging configurator reads these from the layered configuration
		const SettingsKey* known = SettingsKey::find(key);
		if (!known)
		{
			warnings.push_back(unknownKeyWarning("-D", key));
			continue;
		}
		document.set(key, overrideValue(*known, value));
		overridden.insert(key);
	}
	return overridden;
}

// PROXY receivers give up on a silent connection after a few seconds (the spec allows 3 s),
// so with the header on, pooled sockets are recycled sooner unless poolMaxIdle says otherwise.
// (The README's poolMaxIdle row documents this default next to the table's.)
const std::chrono::milliseconds POOL_MAX_IDLE_WITH_PROXY_PROTOCOL{2000};

void shortenPoolMaxIdleForProxyProtocol(Settings& settings, const Poco::JSON::Object& document)
{
	if (settings.proxyProtocol != ProxyProtocol::NONE && !document.has("poolMaxIdle"))
		settings.poolMaxIdle = POOL_MAX_IDLE_WITH_PROXY_PROTOCOL;
}

// Inbound PROXY is only safe from known balancers: without trustedProxies every client would
// have to send a header, and nobody should; TLVs exist only in v2 headers.
void checkProxyRules(const Settings& settings, const std::string& file)
{
	if (settings.acceptProxyProtocol != AcceptProxy::NONE && settings.trustedProxies.empty())
		throw ConfigException(Kind::INVALID, file, "trustedProxies", "is required when acceptProxyProtocol is \""
			+ toString(settings.acceptProxyProtocol) + "\": list the load balancers' addresses (CIDR), e.g. [\"198.18.0.2/32\"]");
	if (settings.proxyProtocolTlvs.any() && settings.proxyProtocol != ProxyProtocol::V2)
		throw ConfigException(Kind::INVALID, file, "proxyProtocolTlvs", "needs proxyProtocol \"v2\" (TLVs exist only in v2 headers), "
			"but proxyProtocol is \"" + toString(settings.proxyProtocol) + "\"");
}

// One pass over the table: each key the document has is checked and stored, blamed on -D if an
// override set it; a missing required key is an error; the others keep their defaults. Then
// the rules that involve two keys.
std::shared_ptr<const Settings> buildSettings(const Poco::JSON::Object& document, const std::string& file,
	const std::set<std::string>& overridden)
{
	auto settings = std::make_shared<Settings>();
	settings->sourceFile = file;
	for (const auto& key : SettingsKey::all())
	{
		if (document.has(key.name()))
			key.store(KeyValue(key.name(), document.get(key.name()), overridden.count(key.name()) ? "-D" : file), *settings);
		else if (key.required())
			throw ConfigException(Kind::INVALID, file, key.name(), "is required but missing"
				+ (key.example().empty() ? std::string() : " (for example " + key.example() + ")"));
	}
	shortenPoolMaxIdleForProxyProtocol(*settings, document);
	checkProxyRules(*settings, file);
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
		throw ConfigException(Kind::INVALID, sourceName, "", "the top level must be a JSON object { ... }, got " + KeyValue::typeName(parsed));

	LoadResult result;
	result.document = parsed.extract<Poco::JSON::Object::Ptr>();

	result.warnings = unknownKeys(*result.document, sourceName);
	std::set<std::string> overridden = applyOverrides(*result.document, overrides, result.warnings);
	result.settings = buildSettings(*result.document, sourceName, overridden);
	return result;
}

} } // namespace ForwardOptimal::Config
