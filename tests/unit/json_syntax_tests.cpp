#include "config/JsonSyntax.h"

#include <boost/test/unit_test.hpp>

using ForwardOptimal::Config::JsonSyntax;

BOOST_AUTO_TEST_SUITE(json_syntax_tests)

BOOST_AUTO_TEST_CASE(accepts_valid_documents)
{
	BOOST_TEST(JsonSyntax::findError("{}").empty());
	BOOST_TEST(JsonSyntax::findError(" {\"a\": [1, -2.5e3, true, false, null, \"x\\n\\u00e9\"], \"b\": {}}\n").empty());
	BOOST_TEST(JsonSyntax::findError("{\"名字\": \"值\"}").empty());
}

BOOST_AUTO_TEST_CASE(reports_line_and_column_of_a_missing_comma)
{
	std::string error = JsonSyntax::findError("{\n  \"a\": 1\n  \"b\": 2\n}");
	BOOST_TEST(error.find("line 3, column 3") == 0u, error);
	BOOST_TEST(error.find("expected '}' or ','") != std::string::npos, error);
}

BOOST_AUTO_TEST_CASE(reports_trailing_commas)
{
	BOOST_TEST(JsonSyntax::findError("{\"a\": 1,}").find("trailing comma") != std::string::npos);
	BOOST_TEST(JsonSyntax::findError("{\"a\": [1,]}").find("trailing comma") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(reports_duplicate_keys_at_the_second_one)
{
	std::string error = JsonSyntax::findError("{\"a\": 1,\n \"a\": 2}");
	BOOST_TEST(error.find("line 2, column 2") == 0u, error);
	BOOST_TEST(error.find("\"a\" appears twice") != std::string::npos, error);
}

BOOST_AUTO_TEST_CASE(reports_common_hand_editing_mistakes)
{
	BOOST_TEST(JsonSyntax::findError("{'a': 1}").find("expected a quoted key") != std::string::npos);
	BOOST_TEST(JsonSyntax::findError("{\"a\": 'x'}").find("double quotes") != std::string::npos);
	BOOST_TEST(JsonSyntax::findError("{\"a\": yes}").find("expected a value") != std::string::npos);
	BOOST_TEST(JsonSyntax::findError("{\"a\": 01}").find("leading zeros") != std::string::npos);
	BOOST_TEST(JsonSyntax::findError("{\"a\": \"x\n\"}").find("unterminated string") != std::string::npos);
	BOOST_TEST(JsonSyntax::findError("{\"a\": \"\\q\"}").find("invalid escape") != std::string::npos);
	BOOST_TEST(JsonSyntax::findError("{\"a\": 1} x").find("after the end of the document") != std::string::npos);
	BOOST_TEST(JsonSyntax::findError("").find("empty") != std::string::npos);
	BOOST_TEST(JsonSyntax::findError("{\"a\": 1").find("end of file") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(counts_columns_in_characters_not_bytes)
{
	std::string error = JsonSyntax::findError("{\"名字\" 1}");
	BOOST_TEST(error.find("line 1, column 7") == 0u, error);
}

BOOST_AUTO_TEST_CASE(bounds_nesting_depth)
{
	std::string deep(100000, '[');
	BOOST_TEST(JsonSyntax::findError(deep).find("nesting deeper") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
