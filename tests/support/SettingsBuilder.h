#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ForwardOptimal {
namespace Test {

class TempDir;

/// The text of a ForwardOptimal configuration file, built from key/value calls, so a test says
/// which keys matter to it instead of splicing JSON strings:
///     SettingsBuilder::loopback({backend.address()}).set("updateInterval", 0.3).write(dir)
/// Keys keep the order of their first set(); setting a key again replaces its value in place.
/// Values are not validated: a test may well want an invalid file. Not thread-safe.
class SettingsBuilder
{
public:
	SettingsBuilder() = default;
		/// An empty object.

	static SettingsBuilder loopback(const std::vector<std::string>& targets);
		/// bindAddr "127.0.0.1:0" and adminAddr "127.0.0.1:0" (ports the kernel picks, which
		/// RunningProxy learns from the ports file) in front of `targets`; no interval set.
		/// With FO_TEST_SPLICE in the environment, also `splice` set to it (see testSplice()).

	static std::string testSplice();
		/// The relay's `splice` mode the suites run with: FO_TEST_SPLICE ("always", "off",
		/// "auto"), or "" (the default) when it is not set. CTest runs the integrity and fault
		/// suites twice, with splice forced on and off (tests/CMakeLists.txt).

	SettingsBuilder& set(const std::string& key, const std::string& value);
	SettingsBuilder& set(const std::string& key, const char* value);
	SettingsBuilder& set(const std::string& key, int value);
	SettingsBuilder& set(const std::string& key, double value);
	SettingsBuilder& set(const std::string& key, bool value);
	SettingsBuilder& setList(const std::string& key, const std::vector<std::string>& values);
		/// A JSON array of strings.
	SettingsBuilder& setJson(const std::string& key, const std::string& json);
		/// Any JSON text as the value, written as given (a `logging` section, a wrong type...).
	SettingsBuilder& remove(const std::string& key);
	SettingsBuilder& merge(const SettingsBuilder& other);
		/// Sets every key of `other` here, in its order.

	std::string text() const;
		/// The JSON object, one key per line.
	std::string write(const TempDir& dir, const std::string& name = "fo.json") const;
		/// Writes text() into `dir` and returns the file's absolute path.

	static std::string quote(const std::string& value);
		/// `value` as a JSON string literal.

private:
	std::vector<std::pair<std::string, std::string>> _entries; // key, JSON text of the value
};

} } // namespace ForwardOptimal::Test
