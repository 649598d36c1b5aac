#pragma once

#include "config/Settings.h"

#include "Poco/JSON/Object.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ForwardOptimal {
namespace Config {

/// `-D key=value` overrides in command-line order; a later one for the same key wins.
using Overrides = std::vector<std::pair<std::string, std::string>>;

/// What loading produced: the validated settings, warnings worth logging (unknown keys), and
/// the parsed document, whose `logging` object feeds POCO's LoggingConfigurator.
struct LoadResult
{
	std::shared_ptr<const Settings> settings;
	std::vector<std::string> warnings;
	Poco::JSON::Object::Ptr document;
};

/// Turns a JSON config file plus `-D` overrides into validated Settings, iterating the key
/// table (SettingsKey::all()), then applying the rules that involve two keys. Stateless;
/// thread-safe.
class SettingsLoader
{
public:
	static LoadResult loadFile(const std::string& path, const Overrides& overrides);
		/// Reads `path` (made absolute against the working directory). Throws ConfigException:
		/// FILE_MISSING / FILE_UNREADABLE, SYNTAX (with line and column), INVALID (naming the key).

	static LoadResult loadText(const std::string& text, const std::string& sourceName, const Overrides& overrides);
		/// The same for a document in memory; `sourceName` stands for the file in messages.
};

} } // namespace ForwardOptimal::Config
