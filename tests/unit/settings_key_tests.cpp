#include "config/SettingsKey.h"
#include "config/SettingsLoader.h"

#include "Poco/JSON/Stringifier.h"

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <boost/test/unit_test.hpp>

using namespace ForwardOptimal::Config;

namespace {

// One row of the README's configuration table: `| \`key\` | type | default | meaning |`.
struct ReadmeRow
{
	std::string key;
	std::string type;
	std::string byDefault;
};

std::vector<std::string> cells(const std::string& line)
{
	std::vector<std::string> out;
	std::size_t start = 1;
	for (std::size_t bar = line.find(" | ", start); bar != std::string::npos; bar = line.find(" | ", start))
	{
		out.push_back(line.substr(start + 1, bar - start - 1));
		start = bar + 2;
	}
	return out;
}

// The rows of the table under "## Configuration", up to the next section.
std::vector<ReadmeRow> readmeConfigurationTable()
{
	const char* source = std::getenv("FO_SOURCE_DIR");
	BOOST_TEST_REQUIRE(source != nullptr);
	std::ifstream in(std::string(source) + "/README.md");
	BOOST_TEST_REQUIRE(in.good());
	std::vector<ReadmeRow> rows;
	bool inSection = false;
	for (std::string line; std::getline(in, line);)
	{
		if (line.rfind("## ", 0) == 0)
			inSection = line == "## Configuration";
		else if (inSection && line.rfind("| `", 0) == 0)
		{
			std::vector<std::string> row = cells(line);
			BOOST_TEST_REQUIRE(row.size() >= 3u, line);
			BOOST_TEST_REQUIRE(row[0].size() > 2u, line);
			rows.push_back({row[0].substr(1, row[0].size() - 2), row[1], row[2]});
		}
	}
	return rows;
}

std::string json(const Poco::Dynamic::Var& value)
{
	std::ostringstream out;
	Poco::JSON::Stringifier::stringify(value, out);
	return out.str();
}

std::vector<std::string> tableNames()
{
	std::vector<std::string> names;
	for (const auto& key : SettingsKey::all())
		names.push_back(key.name());
	return names;
}

const Settings& load(const std::string& text)
{
	static std::vector<std::shared_ptr<const Settings>> kept;
	kept.push_back(SettingsLoader::loadText(text, "test.json", {}).settings);
	return *kept.back();
}

} // namespace

BOOST_AUTO_TEST_SUITE(settings_key_tests)

// `logging` is POCO's own configuration, passed through: documented there, not a Settings key.
BOOST_AUTO_TEST_CASE(readme_table_lists_the_same_keys_in_the_same_order)
{
	std::vector<std::string> documented;
	for (const auto& row : readmeConfigurationTable())
		if (row.key != "logging")
			documented.push_back(row.key);
	std::vector<std::string> known = tableNames();
	BOOST_TEST(documented == known, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(readme_type_and_default_columns_agree_with_the_table)
{
	for (const auto& row : readmeConfigurationTable())
	{
		const SettingsKey* key = SettingsKey::find(row.key);
		if (!key)
			continue; // the case above reports it
		BOOST_TEST(row.type == key->summary(), row.key);
		std::string expected = key->required() ? "**required**" : "`" + json(key->defaultValue()) + "`";
		BOOST_TEST(row.byDefault.rfind(expected, 0) == 0u, row.key << ": README says " << row.byDefault << ", the table " << expected);
	}
}

BOOST_AUTO_TEST_CASE(effective_settings_list_every_key_in_table_order)
{
	std::vector<std::string> printed;
	Settings().toJson()->getNames(printed);
	// getNames sorts; the stringified text keeps the insertion order.
	std::ostringstream text;
	Settings().toJson()->stringify(text);
	std::vector<std::string> known = tableNames();
	BOOST_TEST(printed.size() == known.size());
	std::size_t position = 0;
	for (const auto& name : known)
	{
		std::size_t at = text.str().find("\"" + name + "\":", position);
		BOOST_TEST(at != std::string::npos, name << " missing or out of order in " << text.str());
		position = at == std::string::npos ? position : at;
	}
}

BOOST_AUTO_TEST_CASE(a_new_settings_holds_every_default_and_prints_it_back)
{
	Settings defaults;
	for (const auto& key : SettingsKey::all())
		if (!key.required())
			BOOST_TEST(json(key.print(defaults)) == json(key.defaultValue()), key.name());
	BOOST_TEST(defaults.maxConnections == 4096u);
	BOOST_TEST(defaults.failureInterval.count() == 5000);
	BOOST_TEST(defaults.poolIdleStop.count() == 120000);
	BOOST_TEST((defaults.probeMode == ProbeMode::SYN));
	BOOST_TEST(defaults.adminEnabled);
	BOOST_TEST(defaults.adminAddr.toString() == "127.0.0.1:9090");
	BOOST_TEST(defaults.targets.empty()); // required: nothing until loaded
}

BOOST_AUTO_TEST_CASE(restart_only_keys_are_those_that_shape_sockets_and_threads)
{
	std::set<std::string> restartOnly;
	for (const auto& key : SettingsKey::all())
		if (key.restartOnly())
			restartOnly.insert(key.name());
	BOOST_TEST((restartOnly == std::set<std::string>{"bindAddr", "maxConnections", "maxQueued", "adminAddr"}));
}

BOOST_AUTO_TEST_CASE(reload_reports_only_restart_only_keys_that_changed)
{
	const std::string base = "{\"bindAddr\": \":8080\", \"targets\": [\"127.0.0.1:22\"]";
	const Settings& running = load(base + ", \"updateInterval\": 60}");
	const Settings& next = load(base + ", \"maxQueued\": 9, \"adminAddr\": \"\", \"updateInterval\": 5, \"poolSize\": 0}");
	std::vector<RestartOnlyChange> changes = restartOnlyChanges(running, next);
	BOOST_TEST_REQUIRE(changes.size() == 2u);
	BOOST_TEST(changes[0].key == "maxQueued");
	BOOST_TEST(changes[0].running == "256");
	BOOST_TEST(changes[0].wanted == "9");
	BOOST_TEST(changes[1].key == "adminAddr");
	BOOST_TEST(changes[1].running == "127.0.0.1:9090");
	BOOST_TEST(changes[1].wanted == "\"\"");
	BOOST_TEST(restartOnlyChanges(running, load(base + ", \"updateInterval\": 1, \"poolSize\": 1}")).empty());
	BOOST_TEST(restartOnlyChanges(running, load("{\"bindAddr\": \"127.0.0.1:8080\", \"targets\": [\"127.0.0.1:22\"], \"updateInterval\": 60}"))
		.at(0).wanted == "127.0.0.1:8080");
}

BOOST_AUTO_TEST_CASE(finds_keys_by_exact_name_only)
{
	BOOST_TEST(SettingsKey::find("poolIdleStop") != nullptr);
	BOOST_TEST(SettingsKey::find("poolidlestop") == nullptr);
	BOOST_TEST(SettingsKey::find("logging") == nullptr);
}

BOOST_AUTO_TEST_SUITE_END()
