#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

// A property a fuzz target checks on every input. A violation is printed and aborts: libFuzzer
// reports the abort as a crash and saves the input; the corpus replay test fails.
#define FO_FUZZ_CHECK(condition, detail) \
	do \
	{ \
		if (!(condition)) \
			ForwardOptimal::Fuzz::violated(#condition, (detail), __FILE__, __LINE__); \
	} while (false)

namespace ForwardOptimal {
namespace Fuzz {

[[noreturn]] inline void violated(const char* condition, const std::string& detail, const char* file, int line)
{
	std::fprintf(stderr, "%s:%d: property violated: %s\n  %s\n", file, line, condition, detail.c_str());
	std::abort();
}

/// Input bytes as text that can be printed in a message: printable ASCII as is, the rest as \xNN.
inline std::string printable(const std::string& bytes)
{
	static const char* hex = "0123456789abcdef";
	std::string out;
	for (char c : bytes)
	{
		unsigned char u = static_cast<unsigned char>(c);
		if (u >= 0x20 && u < 0x7f && u != '\\')
			out += c;
		else
		{
			out += "\\x";
			out += hex[u >> 4];
			out += hex[u & 15];
		}
	}
	return out;
}

} } // namespace ForwardOptimal::Fuzz
