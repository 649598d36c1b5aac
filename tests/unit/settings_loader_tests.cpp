#include "config/ConfigException.h"
#include "config/SettingsKey.h"
#include "config/SettingsLoader.h"

#include "TestSupport.h"

#include "Poco/Path.h"

#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

using namespace ForwardOptimal::Config;
using ForwardOptimal::Test::TempDir;
using Kind = ConfigException::Kind;

namespace {

const std::string SOURCE = "/etc/fo/test.json";

std::string document(const std::string& extra = std::string(), const std::string& targets = "[\"127.0.0.1:22\", \"[::1]:22\"]")
{
	return "{\"bindAddr\": \":8080\", \"targets\": " + targets + ", \"updateInterval\": 60" + extra + "}";
}

LoadResult load(const std::string& text, const Overrides& overrides = {})
{
	return SettingsLoader::loadText(text, SOURCE, overrides);
}

// Loads, expects a ConfigException, and hands it back for the case to inspect.
ConfigException failure(const std::string& text, const Overrides& overrides = {})
{
	try
	{
		load(text, overrides);
	}
	catch (const ConfigException& error)
	{
		return error;
	}
	BOOST_FAIL("accepted: " << text);
	throw std::logic_error("unreachable");
}

void expectInvalid(const std::string& text, const std::string& key, const std::string& fragment, const Overrides& overrides = {})
{
	ConfigException error = failure(text, overrides);
	BOOST_TEST((error.kind() == Kind::INVALID), error.message());
	BOOST_TEST(error.key() == key, error.message());
	BOOST_TEST(error.message().find(fragment) != std::string::npos, error.message());
	bool namesKey = error.message().find("'" + key + "'") != std::string::npos || error.source() == "-D";
	BOOST_TEST(namesKey, error.message());
}

} // namespace

BOOST_AUTO_TEST_SUITE(settings_loader_tests)

BOOST_AUTO_TEST_CASE(loads_the_spec_example_with_defaults)
{
	LoadResult result = load("{\"bindAddr\": \":8080\", \"targets\": [\"111.2.3.114:14\", \"166.88.90.90:22\"],"
		" \"updateInterval\": 60, \"failureInterval\": 10, \"proxyProtocol\": \"\"}");
	const Settings& s = *result.settings;
	BOOST_TEST(s.bindAddr.toString() == ":8080");
	BOOST_TEST(s.targets.size() == 2u);
	BOOST_TEST(s.targets[1].toString() == "166.88.90.90:22");
	BOOST_TEST(s.updateInterval.count() == 60000);
	BOOST_TEST(s.failureInterval.count() == 10000);
	BOOST_TEST((s.proxyProtocol == ProxyProtocol::NONE));
	BOOST_TEST(s.maxConnections == 4096u);
	BOOST_TEST(s.maxQueued == 256u);
	BOOST_TEST(s.sourceFile == SOURCE);
	BOOST_TEST(result.warnings.empty());
}

BOOST_AUTO_TEST_CASE(failure_interval_defaults_to_five_seconds)
{
	BOOST_TEST(load(document()).settings->failureInterval.count() == 5000);
}

BOOST_AUTO_TEST_CASE(accepts_fractional_intervals)
{
	BOOST_TEST(load(document(", \"failureInterval\": 0.25")).settings->failureInterval.count() == 250);
}

BOOST_AUTO_TEST_CASE(accepts_each_proxy_protocol_version)
{
	BOOST_TEST((load(document(", \"proxyProtocol\": \"v1\"")).settings->proxyProtocol == ProxyProtocol::V1));
	BOOST_TEST((load(document(", \"proxyProtocol\": \"v2\"")).settings->proxyProtocol == ProxyProtocol::V2));
}

BOOST_AUTO_TEST_CASE(requires_bind_addr)
{
	expectInvalid("{\"targets\": [\"1.2.3.4:5\"], \"updateInterval\": 1}", "bindAddr", "required");
}

BOOST_AUTO_TEST_CASE(requires_targets)
{
	expectInvalid("{\"bindAddr\": \":1\", \"updateInterval\": 1}", "targets", "required");
}

BOOST_AUTO_TEST_CASE(requires_update_interval)
{
	expectInvalid("{\"bindAddr\": \":1\", \"targets\": [\"1.2.3.4:5\"]}", "updateInterval", "required");
}

BOOST_AUTO_TEST_CASE(rejects_non_positive_intervals)
{
	expectInvalid(document(", \"failureInterval\": 0"), "failureInterval", "greater than 0");
	expectInvalid("{\"bindAddr\": \":1\", \"targets\": [\"1.2.3.4:5\"], \"updateInterval\": -5}", "updateInterval", "greater than 0, got -5");
	expectInvalid(document(", \"failureInterval\": 100000"), "failureInterval", "between 0.001 and 86400");
}

BOOST_AUTO_TEST_CASE(rejects_wrong_types)
{
	expectInvalid("{\"bindAddr\": 8080, \"targets\": [\"1.2.3.4:5\"], \"updateInterval\": 1}", "bindAddr", "must be a string, got a number");
	expectInvalid("{\"bindAddr\": \":1\", \"targets\": \"1.2.3.4:5\", \"updateInterval\": 1}", "targets", "must be an array");
	expectInvalid("{\"bindAddr\": \":1\", \"targets\": [\"1.2.3.4:5\", 7], \"updateInterval\": 1}", "targets", "element 2 must be a \"host:port\" string, got a number");
	expectInvalid("{\"bindAddr\": \":1\", \"targets\": [\"1.2.3.4:5\"], \"updateInterval\": \"60\"}", "updateInterval", "write 60 without quotes");
	expectInvalid("{\"bindAddr\": \":1\", \"targets\": [\"1.2.3.4:5\"], \"updateInterval\": true}", "updateInterval", "got a boolean");
	expectInvalid("{\"bindAddr\": \":1\", \"targets\": [\"1.2.3.4:5\"], \"updateInterval\": null}", "updateInterval", "got null");
	expectInvalid(document(", \"proxyProtocol\": 2"), "proxyProtocol", "must be a string");
}

BOOST_AUTO_TEST_CASE(rejects_empty_target_list)
{
	expectInvalid(document("", "[]"), "targets", "at least one");
}

BOOST_AUTO_TEST_CASE(rejects_duplicate_targets_even_when_spelled_differently)
{
	expectInvalid(document("", "[\"198.18.0.1:22\", \"[::1]:22\", \"[0::1]:22\"]"), "targets", "listed twice (elements 2 and 3)");
	expectInvalid(document("", "[\"Relay.example:22\", \"relay.example:22\"]"), "targets", "listed twice");
}

BOOST_AUTO_TEST_CASE(rejects_bad_addresses_naming_the_element)
{
	expectInvalid(document("", "[\"198.18.0.1:22\", \"198.18.0.2\"]"), "targets", "element 2: '198.18.0.2' is not a valid host:port (the port is missing");
	expectInvalid("{\"bindAddr\": \"8080\", \"targets\": [\"1.2.3.4:5\"], \"updateInterval\": 1}", "bindAddr", "port is missing");
}

BOOST_AUTO_TEST_CASE(rejects_unknown_proxy_protocol)
{
	expectInvalid(document(", \"proxyProtocol\": \"v3\""), "proxyProtocol", "must be \"\", \"v1\" or \"v2\", got \"v3\"");
	expectInvalid(document(", \"proxyProtocol\": \"V2\""), "proxyProtocol", "got \"V2\"");
}

BOOST_AUTO_TEST_CASE(inbound_proxy_protocol_needs_trusted_proxies)
{
	auto pOff = load(document()).settings; // kept: `off` refers into it
	const Settings& off = *pOff;
	BOOST_TEST((off.acceptProxyProtocol == AcceptProxy::NONE));
	BOOST_TEST(off.trustedProxies.empty());
	BOOST_TEST(off.proxyHeaderTimeout.count() == 3000);
	auto on = load(document(", \"acceptProxyProtocol\": \"any\", \"trustedProxies\": [\"198.18.0.0/15\", \"2001:db8::1\"], "
		"\"proxyHeaderTimeout\": 0.5")).settings;
	BOOST_TEST((on->acceptProxyProtocol == AcceptProxy::ANY));
	BOOST_REQUIRE(on->trustedProxies.size() == 2u);
	BOOST_TEST(on->trustedProxies[1].toString() == "2001:db8::1/128");
	BOOST_TEST(on->proxyHeaderTimeout.count() == 500);
	expectInvalid(document(", \"acceptProxyProtocol\": \"v2\""), "trustedProxies", "is required when acceptProxyProtocol is \"v2\"");
	expectInvalid(document(", \"acceptProxyProtocol\": \"v1\", \"trustedProxies\": []"), "trustedProxies", "is required");
	expectInvalid(document(", \"acceptProxyProtocol\": \"v3\""), "acceptProxyProtocol", "must be \"\", \"v1\", \"v2\" or \"any\"");
	expectInvalid(document(", \"trustedProxies\": [\"198.18.0.1/15\"]"), "trustedProxies", "element 1: '198.18.0.1/15' has bits set after the prefix: did you mean 198.18.0.0/15?");
	expectInvalid(document(", \"trustedProxies\": [\"lb.example\"]"), "trustedProxies", "element 1: 'lb.example' is not an IPv4 or IPv6 address");
	expectInvalid(document(", \"trustedProxies\": [\"198.18.0.0/15\", \"198.18.0.0/15\"]"), "trustedProxies", "listed twice");
	expectInvalid(document(", \"proxyHeaderTimeout\": 61"), "proxyHeaderTimeout", "at most 60");
	// -D takes a list as a,b
	BOOST_TEST(load(document(", \"acceptProxyProtocol\": \"v1\""), {{"trustedProxies", "127.0.0.1,::1"}}).settings->trustedProxies.size() == 2u);
}

BOOST_AUTO_TEST_CASE(proxy_protocol_tlvs_need_v2)
{
	auto settings = load(document(", \"proxyProtocol\": \"v2\", \"proxyProtocolTlvs\": [\"crc32c\", \"unique_id\"]")).settings;
	BOOST_TEST(settings->proxyProtocolTlvs.crc32c);
	BOOST_TEST(settings->proxyProtocolTlvs.uniqueId);
	BOOST_TEST(!settings->proxyProtocolTlvs.passthrough);
	std::ostringstream json;
	settings->toJson()->stringify(json);
	BOOST_TEST(json.str().find("\"proxyProtocolTlvs\":[\"unique_id\",\"crc32c\"]") != std::string::npos, json.str());
	expectInvalid(document(", \"proxyProtocol\": \"v1\", \"proxyProtocolTlvs\": [\"crc32c\"]"), "proxyProtocolTlvs", "needs proxyProtocol \"v2\"");
	expectInvalid(document(", \"proxyProtocol\": \"v2\", \"proxyProtocolTlvs\": [\"crc\"]"), "proxyProtocolTlvs",
		"element 1: \"crc\" is not one of \"unique_id\", \"crc32c\" or \"passthrough\"");
	expectInvalid(document(", \"proxyProtocol\": \"v2\", \"proxyProtocolTlvs\": [\"crc32c\", \"crc32c\"]"), "proxyProtocolTlvs", "listed twice");
}

BOOST_AUTO_TEST_CASE(bounds_thread_and_queue_sizes)
{
	BOOST_TEST(load(document(", \"maxConnections\": 8, \"maxQueued\": 1")).settings->maxConnections == 8u);
	expectInvalid(document(", \"maxConnections\": 0"), "maxConnections", "whole number from 1");
	expectInvalid(document(", \"maxConnections\": 2.5"), "maxConnections", "whole number");
	expectInvalid(document(", \"maxQueued\": 0"), "maxQueued", "whole number from 1");
}

BOOST_AUTO_TEST_CASE(limits_sessions_per_source_by_default_and_validates_the_limit)
{
	BOOST_TEST(load(document()).settings->maxConnectionsPerSource == 256u);
	BOOST_TEST(load(document(", \"maxConnectionsPerSource\": 0")).settings->maxConnectionsPerSource == 0u); // off
	BOOST_TEST(load(document(", \"maxConnectionsPerSource\": 100000")).settings->maxConnectionsPerSource == 100000u);
	BOOST_TEST(load(document(), {{"maxConnectionsPerSource", "8"}}).settings->maxConnectionsPerSource == 8u);
	expectInvalid(document(", \"maxConnectionsPerSource\": -1"), "maxConnectionsPerSource", "must be a whole number from 0 to 100000, got -1");
	expectInvalid(document(", \"maxConnectionsPerSource\": 100001"), "maxConnectionsPerSource", "whole number from 0 to 100000");
	expectInvalid(document(", \"maxConnectionsPerSource\": 2.5"), "maxConnectionsPerSource", "whole number");
	expectInvalid(document(", \"maxConnectionsPerSource\": \"8\""), "maxConnectionsPerSource", "must be a number, got a string");
	expectInvalid(document(", \"maxConnectionsPerSource\": true"), "maxConnectionsPerSource", "must be a number, got a boolean");
	ConfigException fromCommandLine = failure(document(), {{"maxConnectionsPerSource", "many"}});
	BOOST_TEST(fromCommandLine.message() == "-D maxConnectionsPerSource: must be a number, got 'many'");
	std::ostringstream json;
	load(document(", \"maxConnectionsPerSource\": 32")).settings->toJson()->stringify(json);
	BOOST_TEST(json.str().find("\"maxConnectionsPerSource\":32") != std::string::npos, json.str());
}

BOOST_AUTO_TEST_CASE(forwarding_defaults)
{
	LoadResult result = load(document());
	const Settings& s = *result.settings;
	BOOST_TEST(s.connectTimeout.count() == 5000);
	BOOST_TEST(s.idleTimeout.count() == 30000);
	BOOST_TEST(s.bufferSize == 32768u);
	BOOST_TEST(s.poolSize == 2u);
	BOOST_TEST(s.poolMaxIdle.count() == 10000);
	BOOST_TEST(s.probeTimeout.count() == 5000);
}

BOOST_AUTO_TEST_CASE(proxy_protocol_shortens_the_default_pool_idle_time)
{
	BOOST_TEST(load(document(", \"proxyProtocol\": \"v2\"")).settings->poolMaxIdle.count() == 2000);
	BOOST_TEST(load(document(", \"proxyProtocol\": \"v1\", \"poolMaxIdle\": 1")).settings->poolMaxIdle.count() == 1000);
}

BOOST_AUTO_TEST_CASE(idle_timeout_zero_means_none)
{
	BOOST_TEST(load(document(", \"idleTimeout\": 0")).settings->idleTimeout.count() == 0);
	expectInvalid(document(", \"idleTimeout\": -1"), "idleTimeout", "must be from 0 to 86400");
}

BOOST_AUTO_TEST_CASE(bounds_buffer_and_pool_sizes)
{
	BOOST_TEST(load(document(", \"poolSize\": 0")).settings->poolSize == 0u);
	expectInvalid(document(", \"bufferSize\": 100"), "bufferSize", "whole number from 1024 to 1048576");
	expectInvalid(document(", \"poolSize\": 65"), "poolSize", "whole number from 0 to 64");
	expectInvalid(document(", \"connectTimeout\": 0"), "connectTimeout", "greater than 0");
	expectInvalid(document(", \"probeTimeout\": 61"), "probeTimeout", "at most 60 seconds");
}

BOOST_AUTO_TEST_CASE(bounds_selection_settings)
{
	expectInvalid(document(", \"latencySmoothing\": 0"), "latencySmoothing", "greater than 0");
	expectInvalid(document(", \"latencySmoothing\": 1.5"), "latencySmoothing", "must be from 0 to 1");
	expectInvalid(document(", \"switchMargin\": -1"), "switchMargin", "must be from 0 to 60000 ms");
	expectInvalid(document(", \"rise\": 0"), "rise", "whole number from 1 to 100");
	expectInvalid(document(", \"fall\": 101"), "fall", "whole number from 1 to 100");
	expectInvalid(document(", \"maxLatency\": \"fast\""), "maxLatency", "must be a number");
}

BOOST_AUTO_TEST_CASE(probe_mode_is_syn_by_default_or_connect)
{
	BOOST_TEST((load(document()).settings->probeMode == ProbeMode::SYN));
	BOOST_TEST((load(document(", \"probeMode\": \"connect\"")).settings->probeMode == ProbeMode::CONNECT));
	BOOST_TEST((load(document(", \"probeMode\": \"syn\"")).settings->probeMode == ProbeMode::SYN));
	BOOST_TEST((load(document(), {{"probeMode", "connect"}}).settings->probeMode == ProbeMode::CONNECT));
	BOOST_TEST(toString(ProbeMode::CONNECT) == "connect");
}

BOOST_AUTO_TEST_CASE(access_log_is_off_by_default_a_boolean_and_text_or_json)
{
	BOOST_TEST(!load(document()).settings->accessLog);
	BOOST_TEST((load(document()).settings->accessLogFormat == AccessLogFormat::TEXT));
	BOOST_TEST(load(document(", \"accessLog\": true")).settings->accessLog);
	BOOST_TEST(!load(document(", \"accessLog\": false")).settings->accessLog);
	BOOST_TEST((load(document(", \"accessLogFormat\": \"json\"")).settings->accessLogFormat == AccessLogFormat::JSON));
	BOOST_TEST(load(document(), {{"accessLog", "true"}}).settings->accessLog);
	BOOST_TEST(!load(document(", \"accessLog\": true"), {{"accessLog", "false"}}).settings->accessLog);
	expectInvalid(document(", \"accessLog\": \"true\""), "accessLog", "must be true or false, got a string (write true without quotes)");
	expectInvalid(document(", \"accessLog\": 1"), "accessLog", "must be true or false, got a number");
	expectInvalid(document(", \"accessLogFormat\": \"JSON\""), "accessLogFormat", "must be \"text\" or \"json\", got \"JSON\"");
	ConfigException fromCommandLine = failure(document(), {{"accessLog", "yes"}});
	BOOST_TEST(fromCommandLine.message() == "-D accessLog: must be true or false, got 'yes'");
	// --check prints it back as a JSON boolean, and a reload's log would show true/false.
	std::ostringstream printed;
	load(document(", \"accessLog\": true")).settings->toJson()->stringify(printed);
	BOOST_TEST(printed.str().find("\"accessLog\":true") != std::string::npos, printed.str());
	BOOST_TEST(SettingsKey::find("accessLog")->display(*load(document(", \"accessLog\": true")).settings) == "true");
	BOOST_TEST(!SettingsKey::find("accessLog")->restartOnly());
	BOOST_TEST(!SettingsKey::find("accessLogFormat")->restartOnly());
}

BOOST_AUTO_TEST_CASE(rejects_unknown_probe_modes)
{
	expectInvalid(document(", \"probeMode\": \"SYN\""), "probeMode", "must be \"syn\" or \"connect\", got \"SYN\"");
	expectInvalid(document(", \"probeMode\": \"\""), "probeMode", "got \"\"");
	expectInvalid(document(", \"probeMode\": 1"), "probeMode", "must be a string, got a number");
	ConfigException fromCommandLine = failure(document(), {{"probeMode", "half-open"}});
	BOOST_TEST(fromCommandLine.message() == "-D probeMode: must be \"syn\" or \"connect\", got \"half-open\"");
}

BOOST_AUTO_TEST_CASE(pool_idle_stop_is_two_minutes_by_default_and_zero_means_never)
{
	BOOST_TEST(load(document()).settings->poolIdleStop.count() == 120000);
	BOOST_TEST(load(document(", \"poolIdleStop\": 0")).settings->poolIdleStop.count() == 0);
	BOOST_TEST(load(document(", \"poolIdleStop\": 30.5")).settings->poolIdleStop.count() == 30500);
	BOOST_TEST(load(document(", \"poolIdleStop\": 0.0001")).settings->poolIdleStop.count() == 1); // not "never"
	BOOST_TEST(load(document(), {{"poolIdleStop", "60"}}).settings->poolIdleStop.count() == 60000);
}

BOOST_AUTO_TEST_CASE(rejects_pool_idle_stop_out_of_range)
{
	expectInvalid(document(", \"poolIdleStop\": -1"), "poolIdleStop", "must be from 0 to 86400 seconds (0 = never stop), got -1");
	expectInvalid(document(", \"poolIdleStop\": 86401"), "poolIdleStop", "must be from 0 to 86400 seconds");
	expectInvalid(document(", \"poolIdleStop\": \"120\""), "poolIdleStop", "write 120 without quotes");
	BOOST_TEST(failure(document(), {{"poolIdleStop", "soon"}}).message() == "-D poolIdleStop: must be a number, got 'soon'");
	BOOST_TEST(failure(document(), {{"poolIdleStop", "-1"}}).message().find("-D poolIdleStop: must be from 0 to 86400") == 0u);
}

BOOST_AUTO_TEST_CASE(knows_whether_admin_addr_was_set_or_defaulted)
{
	// A taken default adminAddr is a warning, a taken explicit one fatal: the loader must tell them apart.
	LoadResult defaulted = load(document());
	BOOST_TEST(!defaulted.settings->adminAddrExplicit);
	BOOST_TEST(defaulted.settings->adminEnabled);
	BOOST_TEST(defaulted.settings->adminAddr.toString() == "127.0.0.1:9090");
	BOOST_TEST(load(document(", \"adminAddr\": \"127.0.0.1:9090\"")).settings->adminAddrExplicit);
	BOOST_TEST(load(document(", \"adminAddr\": \"\"")).settings->adminAddrExplicit);
	BOOST_TEST(load(document(), {{"adminAddr", "127.0.0.1:9191"}}).settings->adminAddrExplicit);
	BOOST_TEST(!Settings().adminAddrExplicit);
}

BOOST_AUTO_TEST_CASE(effective_settings_show_the_new_keys)
{
	std::ostringstream json;
	load(document(", \"probeMode\": \"connect\", \"poolIdleStop\": 0")).settings->toJson()->stringify(json);
	BOOST_TEST(json.str().find("\"poolIdleStop\":0,") != std::string::npos, json.str());
	BOOST_TEST(json.str().find("\"probeMode\":\"connect\"") != std::string::npos, json.str());
}

BOOST_AUTO_TEST_CASE(a_missing_required_key_is_blamed_on_the_file_with_an_example)
{
	ConfigException error = failure("{\"targets\": [\"1.2.3.4:5\"], \"updateInterval\": 1}");
	BOOST_TEST(error.message() == SOURCE + ": key 'bindAddr': is required but missing (for example \":8080\")");
}

BOOST_AUTO_TEST_CASE(an_invalid_value_is_blamed_where_it_came_from)
{
	BOOST_TEST(failure(document(", \"rise\": 0")).source() == SOURCE);
	BOOST_TEST(failure(document(), {{"rise", "0"}}).source() == "-D");
	BOOST_TEST(failure(document(", \"rise\": 2"), {{"fall", "0"}}).source() == "-D");
	BOOST_TEST(failure(document(", \"fall\": 0"), {{"rise", "2"}}).source() == SOURCE);
}

BOOST_AUTO_TEST_CASE(malformed_json_is_a_syntax_error_with_position)
{
	ConfigException error = failure("{\n  \"bindAddr\": \":8080\",\n  \"targets\": [\"1.2.3.4:5\",]\n}");
	BOOST_TEST((error.kind() == Kind::SYNTAX));
	BOOST_TEST(error.message().find(SOURCE + ": invalid JSON: line 3, column 27: trailing comma") == 0u, error.message());
}

// Valid JSON that POCO's parser refuses made a POCO exception escape the loader instead of a
// ConfigException. Found by tests/fuzz/config_fuzz.cpp (a large integer, invalid UTF-8); the
// other cases by probing POCO's parser.
BOOST_AUTO_TEST_CASE(json_that_poco_cannot_read_is_a_syntax_error)
{
	const std::pair<std::string, std::string> cases[] = {
		{", \"rise\": 99999999999999999999", "Not a valid unsigned integer: 99999999999999999999"},
		{", \"maxLatency\": 1e999", "Not a valid floating-point number: 1e999"},
		{", \"x\": \"\\ud800\"", "surrogate"},
		{", \"x\": \"\xc3\"", "invalid UTF-8"},
	};
	for (const auto& [extra, reason] : cases)
	{
		ConfigException error = failure(document(extra));
		BOOST_TEST((error.kind() == Kind::SYNTAX), error.message());
		BOOST_TEST(error.message().find(SOURCE + ": invalid JSON: ") == 0u, error.message());
		BOOST_TEST(error.message().find(reason) != std::string::npos, error.message());
	}
}

BOOST_AUTO_TEST_CASE(json_array_override_that_poco_cannot_read_is_blamed_on_the_command_line)
{
	ConfigException error = failure(document(), {{"targets", "[\"\\udc00\"]"}});
	BOOST_TEST((error.kind() == Kind::INVALID));
	BOOST_TEST(error.message().find("-D targets: not a valid JSON array: ") == 0u, error.message());
}

BOOST_AUTO_TEST_CASE(top_level_must_be_an_object)
{
	ConfigException error = failure("[\"1.2.3.4:5\"]");
	BOOST_TEST(error.message().find("top level must be a JSON object") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_keys_are_warnings_with_a_suggestion)
{
	LoadResult result = load(document(", \"updateInteval\": 3, \"colour\": 1"));
	BOOST_TEST_REQUIRE(result.warnings.size() == 2u);
	std::string all = result.warnings[0] + "\n" + result.warnings[1];
	BOOST_TEST(all.find("unknown key 'updateInteval' is ignored (did you mean 'updateInterval'?)") != std::string::npos, all);
	BOOST_TEST(all.find("unknown key 'colour' is ignored") != std::string::npos, all);
	BOOST_TEST(all.find(SOURCE) != std::string::npos, all);
}

BOOST_AUTO_TEST_CASE(logging_must_be_an_object)
{
	expectInvalid(document(", \"logging\": \"debug\""), "logging", "must be an object");
	BOOST_TEST(load(document(", \"logging\": {\"loggers\": {\"root\": {\"level\": \"debug\"}}}")).warnings.empty());
}

BOOST_AUTO_TEST_CASE(overrides_win_over_the_file)
{
	LoadResult result = load(document(", \"proxyProtocol\": \"v1\""),
		{{"updateInterval", "2.5"}, {"proxyProtocol", "v2"}, {"targets", "198.18.0.1:1, [::1]:2"}, {"proxyProtocol", ""}});
	const Settings& s = *result.settings;
	BOOST_TEST(s.updateInterval.count() == 2500);
	BOOST_TEST((s.proxyProtocol == ProxyProtocol::NONE)); // the later -D wins
	BOOST_TEST_REQUIRE(s.targets.size() == 2u);
	BOOST_TEST(s.targets[1].toString() == "[::1]:2");
}

BOOST_AUTO_TEST_CASE(override_accepts_a_json_array_for_targets)
{
	LoadResult result = load(document(), {{"targets", "[\"198.18.0.9:9\"]"}});
	BOOST_TEST(result.settings->targets.at(0).toString() == "198.18.0.9:9");
}

BOOST_AUTO_TEST_CASE(override_can_supply_a_required_key)
{
	LoadResult result = load("{\"targets\": [\"1.2.3.4:5\"], \"updateInterval\": 1}", {{"bindAddr", "127.0.0.1:9"}});
	BOOST_TEST(result.settings->bindAddr.toString() == "127.0.0.1:9");
}

BOOST_AUTO_TEST_CASE(bad_override_is_blamed_on_the_command_line)
{
	ConfigException error = failure(document(), {{"updateInterval", "soon"}});
	BOOST_TEST(error.source() == "-D");
	BOOST_TEST(error.message() == "-D updateInterval: must be a number, got 'soon'");
	ConfigException range = failure(document(), {{"failureInterval", "-1"}});
	BOOST_TEST(range.message().find("-D failureInterval: must be a number of seconds greater than 0") == 0u, range.message());
}

BOOST_AUTO_TEST_CASE(unknown_override_is_a_warning)
{
	LoadResult result = load(document(), {{"bindadr", ":9"}, {"logging.loggers.root.level", "debug"}});
	BOOST_TEST_REQUIRE(result.warnings.size() == 1u);
	BOOST_TEST(result.warnings[0].find("-D: unknown key 'bindadr' is ignored (did you mean 'bindAddr'?)") != std::string::npos, result.warnings[0]);
}

BOOST_AUTO_TEST_CASE(missing_file_is_reported_as_such)
{
	try
	{
		SettingsLoader::loadFile("/nonexistent/fo.json", {});
		BOOST_FAIL("loaded a missing file");
	}
	catch (const ConfigException& error)
	{
		BOOST_TEST((error.kind() == Kind::FILE_MISSING));
		BOOST_TEST(error.message() == "/nonexistent/fo.json: configuration file not found");
	}
}

BOOST_AUTO_TEST_CASE(directory_is_unreadable_as_a_file)
{
	TempDir dir;
	try
	{
		SettingsLoader::loadFile(dir.path(), {});
		BOOST_FAIL("loaded a directory");
	}
	catch (const ConfigException& error)
	{
		BOOST_TEST((error.kind() == Kind::FILE_UNREADABLE));
	}
}

BOOST_AUTO_TEST_CASE(relative_path_is_reported_absolute)
{
	TempDir dir;
	dir.write("fo.json", document());
	std::string cwd = Poco::Path::current();
	BOOST_TEST_REQUIRE(chdir(dir.path().c_str()) == 0);
	LoadResult result = SettingsLoader::loadFile("fo.json", {});
	BOOST_TEST_REQUIRE(chdir(cwd.c_str()) == 0);
	BOOST_TEST(result.settings->sourceFile == dir.path() + "/fo.json");
}

BOOST_AUTO_TEST_CASE(a_tiny_positive_timeout_never_rounds_to_zero_which_means_never)
{
	LoadResult result = load(document(", \"idleTimeout\": 0.0001, \"drainTimeout\": 0.0004"));
	BOOST_TEST(result.settings->idleTimeout.count() == 1);
	BOOST_TEST(result.settings->drainTimeout.count() == 1);
	BOOST_TEST(load(document(", \"idleTimeout\": 0")).settings->idleTimeout.count() == 0);
}

BOOST_AUTO_TEST_CASE(warns_when_any_user_can_modify_the_file)
{
	TempDir dir;
	std::string path = dir.write("fo.json", document());
	BOOST_TEST_REQUIRE(::chmod(path.c_str(), 0644) == 0);
	BOOST_TEST(SettingsLoader::loadFile(path, {}).warnings.empty());

	BOOST_TEST_REQUIRE(::chmod(path.c_str(), 0666) == 0);
	LoadResult result = SettingsLoader::loadFile(path, {});
	BOOST_TEST_REQUIRE(result.warnings.size() == 1u);
	BOOST_TEST(result.warnings[0].find(path + " can be modified by any user (mode 0666)") != std::string::npos, result.warnings[0]);
	BOOST_TEST(result.warnings[0].find("chmod o-w") != std::string::npos, result.warnings[0]);
	BOOST_TEST(result.settings->targets.size() == 2u); // a warning, not a refusal
}

BOOST_AUTO_TEST_CASE(effective_settings_round_trip_through_json)
{
	LoadResult first = load(document(", \"failureInterval\": 0.5, \"proxyProtocol\": \"v2\""));
	std::ostringstream text;
	first.settings->toJson()->stringify(text);
	LoadResult second = load(text.str());
	BOOST_TEST(second.warnings.empty(), text.str());
	BOOST_TEST(second.settings->failureInterval.count() == 500);
	BOOST_TEST((second.settings->proxyProtocol == ProxyProtocol::V2));
	BOOST_TEST(second.settings->targets.size() == first.settings->targets.size());
	BOOST_TEST(second.settings->maxQueued == first.settings->maxQueued);
}

BOOST_AUTO_TEST_SUITE_END()
