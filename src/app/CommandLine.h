#pragma once

#include "config/SettingsLoader.h"

#include "Poco/Util/OptionSet.h"

#include <string>
#include <utility>
#include <vector>

namespace ForwardOptimal {
namespace App {

/// What one command line asks for: the result of CommandLine::parse(), made once per process.
struct Invocation
{
	enum class Action
	{
		SERVE,         /// the default: load the configuration and forward
		CHECK,         /// -t/--check: validate, print the effective settings, exit
		HELP,          /// -h/-help/--help
		VERSION,       /// -v/-version/--version
		HEALTH_CHECK   /// --health-check=<url>
	};

	Action action = Action::SERVE;
		/// The first of help, version and health-check wins (they need no configuration and
		/// end at once); any of them wins over --check.
	std::string configPath;
		/// Absolute: with --daemon, POCO changes the working directory to / before main().
	Config::Overrides overrides;          /// -D key=value, in the order given
	std::string healthCheckUrl;           /// with Action::HEALTH_CHECK
	std::string portsFile;                /// --ports-file, absolute; "" when not asked for
	bool daemon = false;                  /// --daemon was given
	std::vector<std::string> serverArguments;
		/// ServerApplication's own options (--daemon, --pidfile, --umask), as "--name[=value]",
		/// for POCO's run() to process itself.
};


/// The command line: parsing into an Invocation, the spec's single-dash long forms, the help
/// and version texts, and `-D key=value` splitting. Stateless; thread-safe.
class CommandLine
{
public:
	static void defineOptions(Poco::Util::OptionSet& options);
		/// Adds ForwardOptimal's own options (help, version, config, define, check,
		/// health-check) to `options`; the application adds ServerApplication's first.

	static Invocation parse(const std::vector<std::string>& args, const Poco::Util::OptionSet& options);
		/// Parses `args` (argv[0] first, as normalize() returns it) against `options` (ours and
		/// ServerApplication's), Unix style. Options that are not ours go to serverArguments.
		/// Throws Poco::Util::OptionException (unknown option, missing argument, a stray
		/// argument, a -D without '=') for the caller to turn into exit code 64.

	static std::vector<std::string> normalize(int argc, char** argv);
		/// argv as strings, with the spec's `-help` and `-version` rewritten to `--help` and
		/// `--version`; POCO's Unix style would read them as `-h elp` and `-v ersion`.

	static std::pair<std::string, std::string> splitDefine(const std::string& argument);
		/// "key=value" -> {key, value}. Throws Poco::Util::InvalidArgumentException when the
		/// '=' or the key is missing.

	static std::string usage(const std::string& command);
		/// The help text (spec 帮助信息输出示例, extended with every option).

	static std::string version();
		/// Version, build date, commit and author, one per line.

	static constexpr const char* DEFAULT_CONFIG = "config.json";
		/// Read from the working directory when -c is not given.
};

} } // namespace ForwardOptimal::App
