#include "app/CommandLine.h"
#include "app/ForwardOptimalApp.h"

#include "Poco/Path.h"
#include "Poco/Util/OptionException.h"
#include "Poco/Util/OptionSet.h"

#include <boost/test/unit_test.hpp>

using ForwardOptimal::App::CommandLine;
using ForwardOptimal::App::Invocation;
using Action = ForwardOptimal::App::Invocation::Action;

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

Invocation parse(std::vector<std::string> args)
{
	args.insert(args.begin(), "ForwardOptimal");
	OptionsOf app;
	Poco::Util::OptionSet options = app.options();
	return CommandLine::parse(normalize(args), options);
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

BOOST_AUTO_TEST_CASE(parse_serves_config_json_of_the_working_directory_by_default)
{
	Invocation invocation = parse({});
	BOOST_TEST((invocation.action == Action::SERVE));
	BOOST_TEST(invocation.configPath == Poco::Path("config.json").absolute().toString());
	BOOST_TEST(invocation.overrides.empty());
	BOOST_TEST(!invocation.daemon);
	BOOST_TEST(invocation.serverArguments.empty());
}

BOOST_AUTO_TEST_CASE(parse_makes_the_config_path_absolute_and_keeps_defines_in_order)
{
	Invocation invocation = parse({"-c", "configs/prod.json", "-D", "poolSize=0", "--define=proxyProtocol=v2", "-Dx=1"});
	BOOST_TEST(invocation.configPath == Poco::Path("configs/prod.json").absolute().toString());
	BOOST_TEST(Poco::Path(invocation.configPath).isAbsolute());
	ForwardOptimal::Config::Overrides expected = {{"poolSize", "0"}, {"proxyProtocol", "v2"}, {"x", "1"}};
	BOOST_TEST((invocation.overrides == expected));
}

BOOST_AUTO_TEST_CASE(parse_lets_the_first_of_help_version_and_health_check_win_over_the_rest)
{
	BOOST_TEST((parse({"-t"}).action == Action::CHECK));
	BOOST_TEST((parse({"--check", "-help"}).action == Action::HELP));
	BOOST_TEST((parse({"-version", "-h", "-t"}).action == Action::VERSION));
	Invocation probe = parse({"-t", "--health-check=http://127.0.0.1:9090/healthz", "-v"});
	BOOST_TEST((probe.action == Action::HEALTH_CHECK));
	BOOST_TEST(probe.healthCheckUrl == "http://127.0.0.1:9090/healthz");
	BOOST_TEST(parse({"-h", "--health-check=http://x/"}).healthCheckUrl.empty());
}

BOOST_AUTO_TEST_CASE(parse_hands_server_application_options_through_for_poco)
{
	Invocation invocation = parse({"--daemon", "-c", "a.json", "--pidfile=/run/fo.pid", "--umask=027"});
	BOOST_TEST(invocation.daemon);
	std::vector<std::string> expected = {"--daemon", "--pidfile=/run/fo.pid", "--umask=027"};
	BOOST_TEST(invocation.serverArguments == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(parse_rejects_what_is_not_a_valid_option)
{
	BOOST_CHECK_THROW(parse({"--colour"}), Poco::Util::UnknownOptionException);
	BOOST_CHECK_THROW(parse({"config.json"}), Poco::Util::UnexpectedArgumentException);
	BOOST_CHECK_THROW(parse({"-c"}), Poco::Util::MissingArgumentException);
	BOOST_CHECK_THROW(parse({"-D", "updateInterval"}), Poco::Util::InvalidArgumentException);
	BOOST_CHECK_THROW(parse({"-t", "-t"}), Poco::Util::DuplicateOptionException);
	BOOST_CHECK_THROW(parse({"-h", "--colour"}), Poco::Util::OptionException); // help does not hide a mistake
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
