#pragma once

#include <string>

namespace ForwardOptimal {
namespace Config {

/// A strict JSON (RFC 8259) syntax check that says where a document is wrong, which POCO's
/// parser does not: "line 4, column 17: expected ',' or '}' after an object member". It also
/// rejects a key given twice in one object, which JSON parsers silently resolve to the last
/// value and which in a config file is almost always a mistake.
class JsonSyntax
{
public:
	static std::string findError(const std::string& text);
		/// Returns an empty string if `text` is one valid JSON value (surrounding white space
		/// allowed), otherwise "line L, column C: problem". Stateless, thread-safe.
};

} } // namespace ForwardOptimal::Config
