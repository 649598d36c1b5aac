#include "app/Banner.h"

#include <boost/test/unit_test.hpp>

#include <sstream>
#include <vector>

using ForwardOptimal::App::Banner;

namespace {

std::vector<std::string> lines(const std::string& text)
{
	std::vector<std::string> result;
	std::istringstream in(text);
	for (std::string line; std::getline(in, line);)
		result.push_back(line);
	return result;
}

} // namespace

BOOST_AUTO_TEST_SUITE(banner_tests)

BOOST_AUTO_TEST_CASE(measures_display_width)
{
	BOOST_TEST(Banner::displayWidth("abc") == 3u);
	BOOST_TEST(Banner::displayWidth("特性") == 4u);
	BOOST_TEST(Banner::displayWidth("TCP转发") == 7u);
	BOOST_TEST(Banner::displayWidth("🚀") == 2u);
	BOOST_TEST(Banner::displayWidth("✅") == 2u);
	BOOST_TEST(Banner::displayWidth("⏱️") == 1u); // U+23F1 is narrow; the variation selector adds nothing
	BOOST_TEST(Banner::displayWidth("═║") == 2u);
}

BOOST_AUTO_TEST_CASE(banner_rows_are_aligned_with_cjk_text)
{
	std::vector<std::string> rows = lines(Banner::render("1.2.3", "2026-01-02", "abcdef1234", "Someone"));
	BOOST_TEST_REQUIRE(rows.size() == 8u);
	std::size_t width = Banner::displayWidth(rows[0]);
	BOOST_TEST(width == 60u); // the spec's 58 columns inside the frame
	for (const auto& row : rows)
		BOOST_TEST(Banner::displayWidth(row) == width, row);
	BOOST_TEST(rows[1].find("ForwardOptimal v1.2.3") != std::string::npos);
	BOOST_TEST(rows[2].find("智能负载均衡TCP转发代理服务器") != std::string::npos);
	BOOST_TEST(rows[6].find("2026-01-02 (abcdef1234)") != std::string::npos);
	BOOST_TEST(rows[0].find("╔") == 0u);
	BOOST_TEST(rows[7].find("╚") == 0u);
}

BOOST_AUTO_TEST_CASE(title_is_centred)
{
	std::vector<std::string> rows = lines(Banner::box({"^abcd"}, 10));
	BOOST_TEST(rows[1] == "║   abcd   ║");
}

BOOST_AUTO_TEST_CASE(box_grows_for_long_rows)
{
	std::string author(80, 'x');
	std::vector<std::string> rows = lines(Banner::render("1.0.0", "2026-01-01", "c", author));
	std::size_t width = Banner::displayWidth(rows[0]);
	BOOST_TEST(width > 80u);
	for (const auto& row : rows)
		BOOST_TEST(Banner::displayWidth(row) == width);
}

BOOST_AUTO_TEST_SUITE_END()
