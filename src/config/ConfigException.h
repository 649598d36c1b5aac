#pragma once

#include "Poco/Exception.h"

#include <string>

namespace ForwardOptimal {
namespace Config {

/// The one error type of configuration loading. It names where the problem is (the file or
/// `-D`), which key, and what is wrong; the application turns its kind into an exit code.
class ConfigException: public Poco::Exception
{
public:
	enum class Kind
	{
		FILE_MISSING,     /// the file does not exist (exit 66, EX_NOINPUT)
		FILE_UNREADABLE,  /// it exists but cannot be read (exit 66)
		SYNTAX,           /// not valid JSON (exit 78, EX_CONFIG)
		INVALID           /// valid JSON, invalid value (exit 78)
	};

	ConfigException(Kind kind, const std::string& source, const std::string& key, const std::string& problem);

	Kind kind() const { return _kind; }
	const std::string& source() const { return _source; }
		/// The file path, or "-D" for a command-line override.
	const std::string& key() const { return _key; }
		/// The offending key; empty for file-level problems.
	const std::string& problem() const { return _problem; }

	const char* name() const noexcept override;
	const char* className() const noexcept override;
	Poco::Exception* clone() const override;
	void rethrow() const override;

private:
	Kind _kind;
	std::string _source;
	std::string _key;
	std::string _problem;
};

} } // namespace ForwardOptimal::Config
