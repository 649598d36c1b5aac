#include "config/SettingsKey.h"

#include "config/Endpoint.h"

#include "Poco/Exception.h"
#include "Poco/JSON/Array.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace ForwardOptimal {
namespace Config {

namespace {

using Poco::Dynamic::Var;
using Milliseconds = std::chrono::milliseconds;
using Type = SettingsKey::Type;

constexpr SettingsKey::Reload APPLIES = SettingsKey::Reload::APPLIES;
constexpr SettingsKey::Reload RESTART = SettingsKey::Reload::NEEDS_RESTART;
const Var REQUIRED; // an empty default

std::string format(double value)
{
	return KeyValue::format(value);
}

double toSeconds(Milliseconds value)
{
	return static_cast<double>(value.count()) / 1000.0;
}

// Seconds to milliseconds, where 0 keeps its meaning (none/never) and any positive value stays
// positive: 0.0001 s is 1 ms, not 0 (which would turn an idle timeout into "never").
Milliseconds positiveMilliseconds(double seconds)
{
	long long ms = std::llround(seconds * 1000.0);
	return Milliseconds(seconds > 0 && ms == 0 ? 1 : ms);
}

Var printSeconds(Milliseconds value)
{
	return toSeconds(value);
}

// A period or timeout that must be positive: 0.001 to 86400 seconds, or to `atMost`.
SettingsKey interval(const char* name, Milliseconds Settings::*member, Var byDefault, const char* summary,
	double atMost = 86400, const char* example = "")
{
	auto store = [member, atMost](const KeyValue& value, Settings& settings) {
		double seconds = value.number();
		if (!(seconds > 0))
			value.fail("must be a number of seconds greater than 0, got " + format(seconds));
		if (seconds < 0.001 || seconds > 86400)
			value.fail("must be between 0.001 and 86400 seconds, got " + format(seconds));
		Milliseconds ms(std::llround(seconds * 1000.0));
		if (ms > Milliseconds(std::llround(atMost * 1000.0)))
			value.fail("must be at most " + format(atMost) + " seconds, got " + format(seconds));
		settings.*member = ms;
	};
	return SettingsKey(name, Type::NUMBER, summary, std::move(byDefault), APPLIES, store,
		[member](const Settings& settings) { return printSeconds(settings.*member); }, example);
}

// A duration in seconds from 0 to `high`, where 0 has a meaning of its own (`note` says which).
SettingsKey secondsOrZero(const char* name, Milliseconds Settings::*member, double byDefault, double high,
	const char* note, const char* summary)
{
	auto store = [member, high, note](const KeyValue& value, Settings& settings) {
		double seconds = value.number();
		if (seconds < 0 || seconds > high)
			value.fail("must be from 0 to " + format(high) + " seconds" + note + ", got " + format(seconds));
		settings.*member = positiveMilliseconds(seconds);
	};
	return SettingsKey(name, Type::NUMBER, summary, byDefault, APPLIES, store,
		[member](const Settings& settings) { return printSeconds(settings.*member); });
}

// A number from `low` to `high`, in `unit` (" ms", " %", or "").
SettingsKey real(const char* name, double Settings::*member, double byDefault, double low, double high,
	const char* unit, const char* summary)
{
	auto store = [member, low, high, unit](const KeyValue& value, Settings& settings) {
		double number = value.number();
		if (number < low || number > high)
			value.fail("must be from " + format(low) + " to " + format(high) + unit + ", got " + format(number));
		settings.*member = number;
	};
	return SettingsKey(name, Type::NUMBER, summary, byDefault, APPLIES, store,
		[member](const Settings& settings) { return Var(settings.*member); });
}

// A weight greater than 0 and at most 1 (1 = the newest sample alone).
SettingsKey weight(const char* name, double Settings::*member, double byDefault, const char* summary)
{
	SettingsKey range = real(name, member, byDefault, 0, 1, "", summary);
	auto store = [range](const KeyValue& value, Settings& settings) {
		range.store(value, settings);
		double number = value.number();
		if (number <= 0)
			value.fail("must be greater than 0 (1 = use each sample as it is), got " + format(number));
	};
	return SettingsKey(name, Type::NUMBER, summary, byDefault, APPLIES, store,
		[member](const Settings& settings) { return Var(settings.*member); });
}

// A whole number from `low` to `high`, stored as the member's unsigned type.
template <typename T>
SettingsKey count(const char* name, T Settings::*member, unsigned byDefault, unsigned low, unsigned high,
	const char* summary, SettingsKey::Reload reload = APPLIES)
{
	auto store = [member, low, high](const KeyValue& value, Settings& settings) {
		double number = value.number();
		if (number != std::floor(number) || number < low || number > high)
			value.fail("must be a whole number from " + std::to_string(low) + " to " + std::to_string(high)
				+ ", got " + format(number));
		settings.*member = static_cast<T>(number);
	};
	return SettingsKey(name, Type::NUMBER, summary, byDefault, reload, store,
		[member](const Settings& settings) { return Var(settings.*member); });
}

// true or false.
SettingsKey flag(const char* name, bool Settings::*member, bool byDefault, const char* summary)
{
	auto store = [member](const KeyValue& value, Settings& settings) { settings.*member = value.boolean(); };
	return SettingsKey(name, Type::BOOLEAN, summary, byDefault, APPLIES, store,
		[member](const Settings& settings) { return Var(settings.*member); });
}

// One of a few strings, each standing for a value of the enum E.
template <typename E>
SettingsKey choice(const char* name, E Settings::*member, std::vector<std::pair<std::string, E>> choices,
	const char* byDefault, const char* summary)
{
	std::string allowed;
	for (std::size_t i = 0; i < choices.size(); ++i)
		allowed += std::string(i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + "\"" + choices[i].first + "\"";
	auto store = [member, choices, allowed](const KeyValue& value, Settings& settings) {
		std::string text = value.string();
		for (const auto& [spelling, meaning] : choices)
		{
			if (spelling == text)
			{
				settings.*member = meaning;
				return;
			}
		}
		value.fail("must be " + allowed + ", got \"" + text + "\"");
	};
	auto print = [member, choices](const Settings& settings) {
		for (const auto& [spelling, meaning] : choices)
			if (meaning == settings.*member)
				return Var(spelling);
		return Var(choices.front().first);
	};
	return SettingsKey(name, Type::STRING, summary, std::string(byDefault), APPLIES, store, print);
}

SettingsKey listenAddress()
{
	auto store = [](const KeyValue& value, Settings& settings) {
		std::string text = value.string();
		try
		{
			settings.bindAddr = Endpoint::parseListen(text);
		}
		catch (const Poco::InvalidArgumentException& error)
		{
			value.fail(error.message());
		}
	};
	return SettingsKey("bindAddr", Type::STRING, "string", REQUIRED, RESTART, store,
		[](const Settings& settings) { return Var(settings.bindAddr.toString()); }, "\":8080\"");
}

Endpoint parseTarget(const KeyValue& value, const std::string& text, std::size_t index)
{
	try
	{
		return Endpoint::parseTarget(text);
	}
	catch (const Poco::InvalidArgumentException& error)
	{
		value.fail("element " + std::to_string(index + 1) + ": " + error.message());
	}
}

// Non-empty, each a target address, none twice (also when spelled differently: [::1], [0::1]).
void storeTargets(const KeyValue& value, Settings& settings)
{
	std::vector<std::string> items = value.stringList();
	if (items.empty())
		value.fail("must list at least one \"host:port\"");
	std::vector<Endpoint> targets;
	for (std::size_t i = 0; i < items.size(); ++i)
	{
		Endpoint target = parseTarget(value, items[i], i);
		auto same = std::find(targets.begin(), targets.end(), target);
		if (same != targets.end())
			value.fail("'" + items[i] + "' is listed twice (elements "
				+ std::to_string(same - targets.begin() + 1) + " and " + std::to_string(i + 1) + ")");
		targets.push_back(target);
	}
	settings.targets = std::move(targets);
}

SettingsKey targetList()
{
	auto print = [](const Settings& settings) {
		Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
		for (const auto& target : settings.targets)
			list->add(target.toString());
		return Var(list);
	};
	return SettingsKey("targets", Type::STRING_LIST, "array of strings", REQUIRED, APPLIES, storeTargets, print,
		"[\"192.0.2.1:22\"]");
}

// "" turns the admin endpoint off; the address is kept for when it is turned back on. A stored
// value is explicit (file or -D): Settings() clears the flag after storing the default.
SettingsKey adminAddress()
{
	auto store = [](const KeyValue& value, Settings& settings) {
		std::string text = value.string();
		settings.adminAddrExplicit = true;
		settings.adminEnabled = !text.empty();
		if (!settings.adminEnabled)
			return;
		try
		{
			settings.adminAddr = Endpoint::parseListen(text);
		}
		catch (const Poco::InvalidArgumentException& error)
		{
			value.fail(error.message() + "; use \"\" to turn the admin endpoint off");
		}
	};
	auto print = [](const Settings& settings) {
		return Var(settings.adminEnabled ? settings.adminAddr.toString() : std::string());
	};
	return SettingsKey("adminAddr", Type::STRING, "string", std::string("127.0.0.1:9090"), RESTART, store, print);
}

// Each element a network (Net::Cidr); none twice. May be empty (then nothing is trusted).
SettingsKey networkList(const char* name, std::vector<Net::Cidr> Settings::*member)
{
	auto store = [member](const KeyValue& value, Settings& settings) {
		std::vector<std::string> items = value.stringList();
		std::vector<Net::Cidr> networks;
		for (std::size_t i = 0; i < items.size(); ++i)
		{
			try
			{
				Net::Cidr network = Net::Cidr::parse(items[i]);
				auto same = std::find(networks.begin(), networks.end(), network);
				if (same != networks.end())
					value.fail("'" + items[i] + "' is listed twice (elements "
						+ std::to_string(same - networks.begin() + 1) + " and " + std::to_string(i + 1) + ")");
				networks.push_back(network);
			}
			catch (const Poco::InvalidArgumentException& error)
			{
				value.fail("element " + std::to_string(i + 1) + ": " + error.message());
			}
		}
		settings.*member = std::move(networks);
	};
	auto print = [member](const Settings& settings) {
		Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
		for (const auto& network : settings.*member)
			list->add(network.toString());
		return Var(list);
	};
	return SettingsKey(name, Type::STRING_LIST, "array of strings (CIDR)", Var(Poco::JSON::Array::Ptr(new Poco::JSON::Array)),
		APPLIES, store, print);
}

// A set of names from a fixed list, each turning one flag of ProxyTlvs on.
SettingsKey tlvList()
{
	static const std::vector<std::pair<std::string, bool ProxyTlvs::*>> NAMES = {
		{"unique_id", &ProxyTlvs::uniqueId}, {"crc32c", &ProxyTlvs::crc32c}, {"passthrough", &ProxyTlvs::passthrough}};
	auto store = [](const KeyValue& value, Settings& settings) {
		ProxyTlvs tlvs;
		std::vector<std::string> items = value.stringList();
		for (std::size_t i = 0; i < items.size(); ++i)
		{
			auto it = std::find_if(NAMES.begin(), NAMES.end(), [&](const auto& entry) { return entry.first == items[i]; });
			if (it == NAMES.end())
				value.fail("element " + std::to_string(i + 1) + ": \"" + items[i]
					+ "\" is not one of \"unique_id\", \"crc32c\" or \"passthrough\"");
			if (tlvs.*(it->second))
				value.fail("\"" + items[i] + "\" is listed twice");
			tlvs.*(it->second) = true;
		}
		settings.proxyProtocolTlvs = tlvs;
	};
	auto print = [](const Settings& settings) {
		Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
		for (const auto& [name, flag] : NAMES)
			if (settings.proxyProtocolTlvs.*flag)
				list->add(name);
		return Var(list);
	};
	return SettingsKey("proxyProtocolTlvs", Type::STRING_LIST, "array of strings", Var(Poco::JSON::Array::Ptr(new Poco::JSON::Array)),
		APPLIES, store, print);
}

const std::vector<std::pair<std::string, AcceptProxy>> ACCEPT_PROXIES = {
	{"", AcceptProxy::NONE}, {"v1", AcceptProxy::V1}, {"v2", AcceptProxy::V2}, {"any", AcceptProxy::ANY}};
const std::vector<std::pair<std::string, ProxyProtocol>> PROXY_PROTOCOLS = {
	{"", ProxyProtocol::NONE}, {"v1", ProxyProtocol::V1}, {"v2", ProxyProtocol::V2}};
const std::vector<std::pair<std::string, ProbeMode>> PROBE_MODES = {
	{"syn", ProbeMode::SYN}, {"connect", ProbeMode::CONNECT}};
const std::vector<std::pair<std::string, SpliceMode>> SPLICE_MODES = {
	{"auto", SpliceMode::AUTO}, {"always", SpliceMode::ALWAYS}, {"off", SpliceMode::OFF}};
const std::vector<std::pair<std::string, AccessLogFormat>> ACCESS_LOG_FORMATS = {
	{"text", AccessLogFormat::TEXT}, {"json", AccessLogFormat::JSON}};

// The table, in the README's order. The summaries are the README's "type" column. poolMaxIdle's
// default is 2 with proxyProtocol on: a rule of two keys, applied by SettingsLoader.
std::vector<SettingsKey> buildTable()
{
	return {
		listenAddress(),
		targetList(),
		interval("updateInterval", &Settings::updateInterval, REQUIRED, "number (seconds, > 0)", 86400, "60"),
		interval("failureInterval", &Settings::failureInterval, 5, "number (seconds, > 0)"),
		choice("proxyProtocol", &Settings::proxyProtocol, PROXY_PROTOCOLS, "", "string"),
		tlvList(),
		choice("acceptProxyProtocol", &Settings::acceptProxyProtocol, ACCEPT_PROXIES, "", "string"),
		networkList("trustedProxies", &Settings::trustedProxies),
		interval("proxyHeaderTimeout", &Settings::proxyHeaderTimeout, 3, "number (seconds, > 0, at most 60)", 60),
		count("maxConnections", &Settings::maxConnections, 4096, 1, 100000, "integer 1-100000", RESTART),
		count("maxQueued", &Settings::maxQueued, 256, 1, 100000, "integer 1-100000", RESTART),
		count("maxConnectionsPerSource", &Settings::maxConnectionsPerSource, 256, 0, 100000, "integer 0-100000"),
		interval("connectTimeout", &Settings::connectTimeout, 5, "number (seconds, > 0)"),
		secondsOrZero("idleTimeout", &Settings::idleTimeout, 30, 86400, " (0 = no idle timeout)", "number (seconds, >= 0)"),
		count("bufferSize", &Settings::bufferSize, 32768, 1024, 1048576, "integer 1024-1048576 (bytes)"),
		choice("splice", &Settings::splice, SPLICE_MODES, "auto", "string"),
		count("poolSize", &Settings::poolSize, 2, 0, 64, "integer 0-64"),
		interval("poolMaxIdle", &Settings::poolMaxIdle, 10, "number (seconds, > 0)"),
		secondsOrZero("poolIdleStop", &Settings::poolIdleStop, 120, 86400, " (0 = never stop)", "number (seconds, >= 0)"),
		interval("probeTimeout", &Settings::probeTimeout, 5, "number (seconds, > 0, at most 60)", 60),
		choice("probeMode", &Settings::probeMode, PROBE_MODES, "syn", "string"),
		real("switchMargin", &Settings::switchMarginMs, 5, 0, 60000, " ms", "number (ms, 0-60000)"),
		real("switchMarginPercent", &Settings::switchMarginPercent, 10, 0, 1000, " %", "number (%, 0-1000)"),
		weight("latencySmoothing", &Settings::latencySmoothing, 0.5, "number (0 < x <= 1)"),
		real("maxLatency", &Settings::maxLatencyMs, 0, 0, 60000, " ms", "number (ms, 0-60000)"),
		count("rise", &Settings::rise, 1, 1, 100, "integer 1-100"),
		count("fall", &Settings::fall, 1, 1, 100, "integer 1-100"),
		adminAddress(),
		secondsOrZero("drainTimeout", &Settings::drainTimeout, 10, 3600, "", "number (seconds, 0-3600)"),
		flag("accessLog", &Settings::accessLog, false, "boolean"),
		choice("accessLogFormat", &Settings::accessLogFormat, ACCESS_LOG_FORMATS, "text", "string"),
	};
}

} // namespace


SettingsKey::SettingsKey(std::string name, Type type, std::string summary, Var defaultValue,
		Reload reload, Store store, Print print, std::string example):
	_name(std::move(name)),
	_type(type),
	_summary(std::move(summary)),
	_default(std::move(defaultValue)),
	_reload(reload),
	_store(std::move(store)),
	_print(std::move(print)),
	_example(std::move(example))
{
}


const std::vector<SettingsKey>& SettingsKey::all()
{
	static const std::vector<SettingsKey> table = buildTable();
	return table;
}


const SettingsKey* SettingsKey::find(const std::string& name)
{
	for (const auto& key : all())
		if (key.name() == name)
			return &key;
	return nullptr;
}


std::string SettingsKey::display(const Settings& settings) const
{
	Var value = print(settings);
	if (value.isString())
		return value.toString().empty() ? "\"\"" : value.toString();
	if (value.isBoolean())
		return value.convert<bool>() ? "true" : "false";
	if (value.isNumeric())
		return format(value.convert<double>());
	return value.toString();
}


void SettingsKey::applyDefault(Settings& settings) const
{
	if (!required())
		store(KeyValue(_name, _default, "the built-in defaults"), settings);
}


std::vector<RestartOnlyChange> restartOnlyChanges(const Settings& running, const Settings& next)
{
	std::vector<RestartOnlyChange> changes;
	for (const auto& key : SettingsKey::all())
	{
		if (!key.restartOnly())
			continue;
		std::string now = key.display(running);
		std::string wanted = key.display(next);
		if (now != wanted)
			changes.push_back({key.name(), now, wanted});
	}
	return changes;
}

} } // namespace ForwardOptimal::Config
