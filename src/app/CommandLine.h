#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ForwardOptimal {
namespace App {

/// The parts of the command line that POCO's OptionProcessor does not cover: the spec's
/// single-dash long forms, the help and version texts, and `-D key=value` splitting.
/// Stateless; thread-safe.
class CommandLine
{
public:
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
};

} } // namespace ForwardOptimal::App
