#pragma once

#include "Poco/Dynamic/Var.h"

#include <string>
#include <vector>

namespace ForwardOptimal {
namespace Config {

/// The value found for one configuration key, and where it came from (the file's path, or
/// "-D" for a command-line override), so every message points at the place to fix. The typed
/// readers check the JSON type; every failure is a ConfigException of kind INVALID naming the
/// key and its source. A plain value; thread-safe to read.
class KeyValue
{
public:
	KeyValue(std::string key, Poco::Dynamic::Var value, std::string source);

	const std::string& key() const { return _key; }
		/// The key the value was found for.

	[[noreturn]] void fail(const std::string& problem) const;
		/// Throws ConfigException(INVALID, source, key, problem).

	std::string string() const;
		/// The value as a JSON string, or fails ("must be a string, got a number").

	double number() const;
		/// The value as a JSON number, or fails (a quoted number is told to lose its quotes).

	bool boolean() const;
		/// The value as a JSON true or false, or fails (a quoted one is told to lose its quotes).

	std::vector<std::string> stringList() const;
		/// The value as an array of "host:port" strings, or fails naming the element.

	static std::string typeName(const Poco::Dynamic::Var& value);
		/// "a string", "a number", "null", ... for messages.

	static std::string format(double value);
		/// A number as the operator would write it: 5, 0.25, -1.

private:
	std::string _key;
	Poco::Dynamic::Var _value;
	std::string _source;
};

} } // namespace ForwardOptimal::Config
