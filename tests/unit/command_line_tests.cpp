#include "app/CommandLine.h"
#include "app/ForwardOptimalApp.h"

#include "Poco/Util/OptionException.h"
#include "Poco/Util/OptionSet.h"

#include <boost/test/unit_test.hpp>

using ForwardOptimal::App::CommandLine;

namespace {

// Exposes the application's option definitions, so the help text can be checked against them.
class OptionsOf: public ForwardOptimal::App::ForwardOptimalApp
{
public:
	Poco::Util::OptionSet options()
	{
		Poco::Util::OptionSet set;
		defineOptions(set);
		return set;
	}
};

std::vector<std::string> normalize(std::vector<std::string> args)
{
	std::vector<char*> pointers;
	for (auto& arg : args)
		pointers.push_back(&arg[0]);
	return CommandLine::normalize(static_cast<int>(pointers.size()), pointers.data());
}

} // namespace

BOOST_AUTO_TEST_SUITE(command_line_tests)

BOOST_AUTO_TEST_CASE(rewrites_the_specs_single_dash_long_forms)
{
	auto args = normalize({"ForwardOptimal", "-help", "-version", "-h", "-c", "x.json"});
	std::vector<std::string> expected = {"ForwardOptimal", "--help", "--version", "-h", "-c", "x.json"};
	BOOST_TEST(args == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(splits_define_at_the_first_equals_sign)
{
	auto define = CommandLine::splitDefine("logging.formatters.f.pattern=%t=x");
	BOOST_TEST(define.first == "logging.formatters.f.pattern");
	BOOST_TEST(define.second == "%t=x");
	BOOST_TEST(CommandLine::splitDefine("proxyProtocol=").second == "");
}

BOOST_AUTO_TEST_CASE(rejects_define_without_key_or_equals)
{
	BOOST_CHECK_THROW(CommandLine::splitDefine("updateInterval"), Poco::Util::InvalidArgumentException);
	BOOST_CHECK_THROW(CommandLine::splitDefine("=5"), Poco::Util::InvalidArgumentException);
}

BOOST_AUTO_TEST_CASE(help_mentions_every_option)
{
	OptionsOf app;
	std::string help = CommandLine::usage("ForwardOptimal");
	for (const auto& option : app.options())
	{
		BOOST_TEST(help.find("--" + option.fullName()) != std::string::npos, "--" << option.fullName());
		if (!option.shortName().empty())
		{
			bool listed = help.find("-" + option.shortName() + " ") != std::string::npos
				|| help.find("-" + option.shortName() + ",") != std::string::npos;
			BOOST_TEST(listed, "-" << option.shortName());
		}
	}
	BOOST_TEST(help.find("-help") != std::string::npos);
	BOOST_TEST(help.find("-version") != std::string::npos);
	BOOST_TEST(help.find("./ForwardOptimal -c /root/a.json") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(version_names_build_date_and_commit)
{
	std::string version = CommandLine::version();
	BOOST_TEST(version.find("ForwardOptimal v") == 0u);
	BOOST_TEST(version.find("构建日期: 20") != std::string::npos);
	BOOST_TEST(version.find("提交: ") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
