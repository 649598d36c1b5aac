#pragma once

#include "config/KeyValue.h"
#include "config/Settings.h"

#include "Poco/Dynamic/Var.h"

#include <functional>
#include <string>
#include <vector>

namespace ForwardOptimal {
namespace Config {

/// One configuration key: its name, JSON type, default, range and unit, whether a reload can
/// change it, and how its value is checked, stored into Settings and printed back.
///
/// `SettingsKey::all()` is the one table of every key Settings holds, in the order of the
/// README's configuration table; loading, `--check`'s output (Settings::toJson), the defaults
/// of a new Settings, "did you mean" suggestions, `-D` conversion and reload's restart-only
/// warnings all iterate it. A new key is one row there (plus its Settings member and README
/// row; a unit test checks that the README and the table agree). Rules that involve two keys
/// are applied by SettingsLoader after the table pass. Immutable; thread-safe.
class SettingsKey
{
public:
	enum class Type
	{
		STRING,       /// a JSON string; `-D` takes the text as it is
		STRING_LIST,  /// a JSON array of strings; `-D` takes `a,b` or a JSON array
		NUMBER,       /// a JSON number; `-D` text must be a number
		BOOLEAN       /// a JSON true or false; `-D` takes `true` or `false`
	};

	enum class Reload
	{
		APPLIES,      /// a SIGHUP reload puts the new value into effect
		NEEDS_RESTART /// shapes the listening sockets or the thread pool: kept until a restart
	};

	using Store = std::function<void(const KeyValue& value, Settings& settings)>;
		/// Checks the value (failing through KeyValue::fail) and stores it.
	using Print = std::function<Poco::Dynamic::Var(const Settings& settings)>;
		/// The stored value in config-file form: loading it back stores the same value.

	SettingsKey(std::string name, Type type, std::string summary, Poco::Dynamic::Var defaultValue,
		Reload reload, Store store, Print print, std::string example = std::string());
		/// An empty `defaultValue` makes the key required; `example` is then shown when it is missing.

	static const std::vector<SettingsKey>& all();
		/// Every key, in the README's order. Built once, on first use.

	static const SettingsKey* find(const std::string& name);
		/// The key of that exact name, or null.

	const std::string& name() const { return _name; }
		/// As written in the file and after `-D`: `updateInterval`.

	Type type() const { return _type; }
		/// The JSON type the value must have.

	const std::string& summary() const { return _summary; }
		/// Type, unit and range as the README's "type" column writes them: "integer 1-100000".

	bool required() const { return _default.isEmpty(); }
		/// A required key has no default: loading fails without it.

	const Poco::Dynamic::Var& defaultValue() const { return _default; }
		/// In config-file form (seconds as numbers, addresses as strings); empty when required.

	const std::string& example() const { return _example; }
		/// For a required key, a value to show when it is missing (`":8080"`); may be empty.

	bool restartOnly() const { return _reload == Reload::NEEDS_RESTART; }
		/// True if a reload cannot change the value in effect (see restartOnlyChanges).

	void store(const KeyValue& value, Settings& settings) const { _store(value, settings); }
		/// Throws ConfigException (INVALID, naming the key and the value's source).

	Poco::Dynamic::Var print(const Settings& settings) const { return _print(settings); }
		/// The value in config-file form, as `--check` prints it.

	std::string display(const Settings& settings) const;
		/// The value for a log line: `4096`, `127.0.0.1:9090`, `""`.

	void applyDefault(Settings& settings) const;
		/// Stores the default; nothing for a required key.

private:
	std::string _name;
	Type _type;
	std::string _summary;
	Poco::Dynamic::Var _default;
	Reload _reload;
	Store _store;
	Print _print;
	std::string _example;
};


/// A restart-only key whose value a reload asked to change.
struct RestartOnlyChange
{
	std::string key;
	std::string running;  /// the value in effect, which stays until a restart
	std::string wanted;   /// the value the reloaded configuration asks for
};

std::vector<RestartOnlyChange> restartOnlyChanges(const Settings& running, const Settings& next);
	/// The restart-only keys (SettingsKey::restartOnly) whose values differ, in table order.

} } // namespace ForwardOptimal::Config
