#include "SettingsBuilder.h"

#include "TestSupport.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace ForwardOptimal {
namespace Test {

SettingsBuilder SettingsBuilder::loopback(const std::vector<std::string>& targets)
{
	SettingsBuilder settings;
	settings.set("bindAddr", "127.0.0.1:0").setList("targets", targets).set("adminAddr", "127.0.0.1:0");
	if (!testSplice().empty())
		settings.set("splice", testSplice());
	return settings;
}


std::string SettingsBuilder::testSplice()
{
	const char* mode = std::getenv("FO_TEST_SPLICE");
	return mode ? mode : "";
}


SettingsBuilder& SettingsBuilder::set(const std::string& key, const std::string& value)
{
	return setJson(key, quote(value));
}


SettingsBuilder& SettingsBuilder::set(const std::string& key, const char* value)
{
	return setJson(key, quote(value));
}


SettingsBuilder& SettingsBuilder::set(const std::string& key, int value)
{
	return setJson(key, std::to_string(value));
}


SettingsBuilder& SettingsBuilder::set(const std::string& key, double value)
{
	std::ostringstream text;
	text << value;
	return setJson(key, text.str());
}


SettingsBuilder& SettingsBuilder::set(const std::string& key, bool value)
{
	return setJson(key, value ? "true" : "false");
}


SettingsBuilder& SettingsBuilder::setList(const std::string& key, const std::vector<std::string>& values)
{
	std::string json = "[";
	for (std::size_t i = 0; i < values.size(); ++i)
		json += (i ? ", " : "") + quote(values[i]);
	return setJson(key, json + "]");
}


SettingsBuilder& SettingsBuilder::setJson(const std::string& key, const std::string& json)
{
	auto entry = std::find_if(_entries.begin(), _entries.end(), [&](const auto& e) { return e.first == key; });
	if (entry == _entries.end())
		_entries.emplace_back(key, json);
	else
		entry->second = json;
	return *this;
}


SettingsBuilder& SettingsBuilder::remove(const std::string& key)
{
	_entries.erase(std::remove_if(_entries.begin(), _entries.end(), [&](const auto& e) { return e.first == key; }), _entries.end());
	return *this;
}


SettingsBuilder& SettingsBuilder::merge(const SettingsBuilder& other)
{
	for (const auto& [key, json] : other._entries)
		setJson(key, json);
	return *this;
}


std::string SettingsBuilder::text() const
{
	std::string text = "{";
	for (std::size_t i = 0; i < _entries.size(); ++i)
		text += (i ? ",\n  " : "\n  ") + quote(_entries[i].first) + ": " + _entries[i].second;
	return text + "\n}\n";
}


std::string SettingsBuilder::write(const TempDir& dir, const std::string& name) const
{
	return dir.write(name, text());
}


std::string SettingsBuilder::quote(const std::string& value)
{
	std::string json = "\"";
	for (char c : value)
	{
		if (c == '"' || c == '\\')
			json += std::string("\\") + c;
		else if (static_cast<unsigned char>(c) < 0x20)
		{
			char escaped[8];
			std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
			json += escaped;
		}
		else
			json += c;
	}
	return json + "\"";
}

} } // namespace ForwardOptimal::Test
