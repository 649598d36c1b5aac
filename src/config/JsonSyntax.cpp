#include "config/JsonSyntax.h"

#include <cctype>
#include <set>

namespace ForwardOptimal {
namespace Config {

namespace {

// Deep nesting has no place in a config file; the bound keeps hostile input from exhausting
// the stack of this recursive checker.
constexpr int MAX_DEPTH = 64;

struct SyntaxError
{
	std::size_t offset;
	std::string problem;
};

class Checker
{
public:
	explicit Checker(const std::string& text): _text(text) {}

	void document()
	{
		skipSpace();
		if (atEnd())
			throw SyntaxError{_pos, "the document is empty, expected a JSON object"};
		value(0);
		skipSpace();
		if (!atEnd())
			throw SyntaxError{_pos, "unexpected " + describe() + " after the end of the document"};
	}

private:
	bool atEnd() const { return _pos >= _text.size(); }
	char peek() const { return _text[_pos]; }

	std::string describe() const
	{
		if (atEnd())
			return "end of file";
		unsigned char c = static_cast<unsigned char>(peek());
		if (c >= 0x20 && c < 0x7f)
			return std::string("'") + static_cast<char>(c) + "'";
		static const char* hex = "0123456789abcdef";
		return std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
	}

	void skipSpace()
	{
		while (!atEnd() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r'))
			++_pos;
	}

	void expect(char c, const std::string& context)
	{
		if (atEnd() || peek() != c)
			throw SyntaxError{_pos, std::string("expected '") + c + "' " + context + ", found " + describe()};
		++_pos;
	}

	void value(int depth)
	{
		if (depth > MAX_DEPTH)
			throw SyntaxError{_pos, "nesting deeper than " + std::to_string(MAX_DEPTH) + " levels"};
		if (atEnd())
			throw SyntaxError{_pos, "expected a value, found end of file"};
		switch (peek())
		{
		case '{': object(depth); break;
		case '[': array(depth); break;
		case '"': string(); break;
		case 't': literal("true"); break;
		case 'f': literal("false"); break;
		case 'n': literal("null"); break;
		default:
			if (peek() == '-' || (peek() >= '0' && peek() <= '9'))
				number();
			else if (peek() == '\'')
				throw SyntaxError{_pos, "strings must use double quotes, found '"};
			else
				throw SyntaxError{_pos, "expected a value, found " + describe()};
		}
	}

	void object(int depth)
	{
		++_pos;
		std::set<std::string> keys;
		skipSpace();
		if (!atEnd() && peek() == '}')
		{
			++_pos;
			return;
		}
		for (;;)
		{
			skipSpace();
			if (atEnd() || peek() != '"')
			{
				if (!atEnd() && peek() == '}')
					throw SyntaxError{_pos, "trailing comma before '}'"};
				throw SyntaxError{_pos, "expected a quoted key, found " + describe()};
			}
			std::size_t keyPos = _pos;
			std::string key = string();
			if (!keys.insert(key).second)
				throw SyntaxError{keyPos, "key \"" + key + "\" appears twice in the same object"};
			skipSpace();
			expect(':', "after key \"" + key + "\"");
			skipSpace();
			value(depth + 1);
			skipSpace();
			if (!atEnd() && peek() == ',')
			{
				++_pos;
				continue;
			}
			expect('}', "or ',' after the value of \"" + key + "\"");
			return;
		}
	}

	void array(int depth)
	{
		++_pos;
		skipSpace();
		if (!atEnd() && peek() == ']')
		{
			++_pos;
			return;
		}
		for (;;)
		{
			skipSpace();
			if (!atEnd() && peek() == ']')
				throw SyntaxError{_pos, "trailing comma before ']'"};
			value(depth + 1);
			skipSpace();
			if (!atEnd() && peek() == ',')
			{
				++_pos;
				continue;
			}
			expect(']', "or ',' after an array element");
			return;
		}
	}

	std::string string()
	{
		std::size_t start = _pos;
		++_pos;
		std::string raw;
		while (!atEnd() && peek() != '"')
		{
			unsigned char c = static_cast<unsigned char>(peek());
			if (c < 0x20)
				throw SyntaxError{_pos, c == '\n' ? "unterminated string (line break inside quotes)"
					: "control character inside a string"};
			if (c == '\\')
			{
				++_pos;
				if (atEnd())
					break;
				char e = peek();
				if (e == 'u')
				{
					for (int i = 1; i <= 4; ++i)
					{
						if (_pos + i >= _text.size() || !std::isxdigit(static_cast<unsigned char>(_text[_pos + i])))
							throw SyntaxError{_pos, "\\u must be followed by four hex digits"};
					}
					_pos += 4;
				}
				else if (std::string("\"\\/bfnrt").find(e) == std::string::npos)
					throw SyntaxError{_pos - 1, std::string("invalid escape \\") + e};
				raw += '\\';
				raw += e;
				++_pos;
				continue;
			}
			raw += peek();
			++_pos;
		}
		if (atEnd())
			throw SyntaxError{start, "unterminated string"};
		++_pos;
		return raw;
	}

	void digits()
	{
		if (atEnd() || !std::isdigit(static_cast<unsigned char>(peek())))
			throw SyntaxError{_pos, "expected a digit in number, found " + describe()};
		while (!atEnd() && std::isdigit(static_cast<unsigned char>(peek())))
			++_pos;
	}

	void number()
	{
		if (peek() == '-')
			++_pos;
		if (!atEnd() && peek() == '0')
		{
			++_pos;
			if (!atEnd() && std::isdigit(static_cast<unsigned char>(peek())))
				throw SyntaxError{_pos - 1, "numbers must not have leading zeros"};
		}
		else
			digits();
		if (!atEnd() && peek() == '.')
		{
			++_pos;
			digits();
		}
		if (!atEnd() && (peek() == 'e' || peek() == 'E'))
		{
			++_pos;
			if (!atEnd() && (peek() == '+' || peek() == '-'))
				++_pos;
			digits();
		}
	}

	void literal(const std::string& word)
	{
		if (_text.compare(_pos, word.size(), word) != 0)
			throw SyntaxError{_pos, "expected a value, found " + describe()
				+ " (strings must be in double quotes)"};
		_pos += word.size();
	}

	const std::string& _text;
	std::size_t _pos = 0;
};

} // namespace


std::string JsonSyntax::findError(const std::string& text)
{
	try
	{
		Checker(text).document();
		return std::string();
	}
	catch (const SyntaxError& error)
	{
		std::size_t line = 1;
		std::size_t column = 1;
		for (std::size_t i = 0; i < error.offset && i < text.size(); ++i)
		{
			if (text[i] == '\n')
			{
				++line;
				column = 1;
			}
			// Count characters, not bytes: skip UTF-8 continuation bytes.
			else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80)
				++column;
		}
		return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + error.problem;
	}
}

} } // namespace ForwardOptimal::Config
