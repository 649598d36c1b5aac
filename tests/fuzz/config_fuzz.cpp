// Fuzz target: the configuration loader and validator (SettingsLoader::loadText, JsonSyntax,
// the key rules, -D overrides).
//
// Input: the JSON text of a configuration file, optionally followed by `-D` arguments, each
// after a NUL byte: `{"bindAddr": ":1"}\0targets=198.18.0.1:22\0updateInterval=5`. (A raw NUL in
// a JSON text is only ever a syntax error, so nothing is lost by splitting there.)
//
// Properties:
//  - loading yields Settings, or throws ConfigException with a non-empty message that names
//    what it blames (the file or -D, and the key); any other exception, a crash, a hang or a
//    leak is a bug;
//  - accepted settings keep the documented bounds;
//  - what `--check` prints (Settings::toJson) loads back to the same settings.
#include "FuzzCheck.h"

#include "app/CommandLine.h"
#include "config/ConfigException.h"
#include "config/SettingsLoader.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <typeinfo>

using namespace ForwardOptimal::Config;
using ForwardOptimal::App::CommandLine;
using ForwardOptimal::Fuzz::printable;
using Kind = ConfigException::Kind;

namespace {

const std::string SOURCE = "/fuzz/config.json";

std::string describe(const std::string& text, const Overrides& overrides)
{
	std::string out = "text: " + printable(text);
	for (const auto& [key, value] : overrides)
		out += "\n  -D " + printable(key) + "=" + printable(value);
	return out;
}

// Loads, and turns anything but a clean ConfigException into a property violation; so is a
// clean one when `mustLoad`. Returns null settings for a clean rejection.
LoadResult loadChecked(const std::string& text, const Overrides& overrides, bool mustLoad = false)
{
	try
	{
		return SettingsLoader::loadText(text, SOURCE, overrides);
	}
	catch (const ConfigException& error)
	{
		std::string context = describe(text, overrides) + "\n  error: " + printable(error.message());
		FO_FUZZ_CHECK(!mustLoad, context);
		FO_FUZZ_CHECK(!error.message().empty() && !error.problem().empty(), context);
		FO_FUZZ_CHECK(error.kind() == Kind::SYNTAX || error.kind() == Kind::INVALID, context);
		FO_FUZZ_CHECK(error.source() == SOURCE || error.source() == "-D", context);
		FO_FUZZ_CHECK(error.message().compare(0, error.source().size(), error.source()) == 0, context);
		if (!error.key().empty())
			FO_FUZZ_CHECK(error.message().find(error.key()) != std::string::npos, context);
		if (error.kind() == Kind::SYNTAX)
			FO_FUZZ_CHECK(error.source() == SOURCE && error.problem().compare(0, 14, "invalid JSON: ") == 0, context);
	}
	catch (const Poco::Exception& error)
	{
		FO_FUZZ_CHECK(false, describe(text, overrides) + "\n  escaped " + error.className() + ": "
			+ printable(error.displayText()));
	}
	catch (const std::exception& error)
	{
		FO_FUZZ_CHECK(false, describe(text, overrides) + "\n  escaped " + typeid(error).name() + ": "
			+ printable(error.what()));
	}
	catch (...)
	{
		FO_FUZZ_CHECK(false, describe(text, overrides) + "\n  escaped a non-std exception");
	}
	return LoadResult();
}

bool withinSeconds(std::chrono::milliseconds value, long long lowMs, long long highMs)
{
	return value.count() >= lowMs && value.count() <= highMs;
}

void checkBounds(const Settings& s, const std::string& context)
{
	FO_FUZZ_CHECK(!s.targets.empty(), context);
	for (const auto& target : s.targets)
		FO_FUZZ_CHECK(target.kind() != Endpoint::HostKind::ANY && target.port() != 0, context);
	FO_FUZZ_CHECK(withinSeconds(s.updateInterval, 1, 86400000), context);
	FO_FUZZ_CHECK(withinSeconds(s.failureInterval, 1, 86400000), context);
	FO_FUZZ_CHECK(withinSeconds(s.connectTimeout, 1, 86400000), context);
	FO_FUZZ_CHECK(withinSeconds(s.idleTimeout, 0, 86400000), context);
	FO_FUZZ_CHECK(withinSeconds(s.poolMaxIdle, 1, 86400000), context);
	FO_FUZZ_CHECK(withinSeconds(s.poolIdleStop, 0, 86400000), context);
	FO_FUZZ_CHECK(withinSeconds(s.probeTimeout, 1, 60000), context);
	FO_FUZZ_CHECK(withinSeconds(s.drainTimeout, 0, 3600000), context);
	FO_FUZZ_CHECK(s.maxConnections >= 1 && s.maxConnections <= 100000, context);
	FO_FUZZ_CHECK(s.maxQueued >= 1 && s.maxQueued <= 100000, context);
	FO_FUZZ_CHECK(s.maxConnectionsPerSource <= 100000, context);
	FO_FUZZ_CHECK(s.bufferSize >= 1024 && s.bufferSize <= 1048576, context);
	FO_FUZZ_CHECK(s.poolSize <= 64, context);
	FO_FUZZ_CHECK(s.switchMarginMs >= 0 && s.switchMarginMs <= 60000, context);
	FO_FUZZ_CHECK(s.switchMarginPercent >= 0 && s.switchMarginPercent <= 1000, context);
	FO_FUZZ_CHECK(s.latencySmoothing > 0 && s.latencySmoothing <= 1, context);
	FO_FUZZ_CHECK(s.maxLatencyMs >= 0 && s.maxLatencyMs <= 60000, context);
	FO_FUZZ_CHECK(s.rise >= 1 && s.rise <= 100 && s.fall >= 1 && s.fall <= 100, context);
}

std::string effective(const Settings& s)
{
	std::ostringstream out;
	s.toJson()->stringify(out);
	return out.str();
}

// Field by field, so a value the printed form rounds is caught even if it prints the same.
bool sameSettings(const Settings& a, const Settings& b)
{
	return a.bindAddr == b.bindAddr && a.bindAddr.toString() == b.bindAddr.toString()
		&& a.targets == b.targets
		&& a.updateInterval == b.updateInterval && a.failureInterval == b.failureInterval
		&& a.proxyProtocol == b.proxyProtocol
		&& a.maxConnections == b.maxConnections && a.maxQueued == b.maxQueued
		&& a.maxConnectionsPerSource == b.maxConnectionsPerSource
		&& a.connectTimeout == b.connectTimeout && a.idleTimeout == b.idleTimeout
		&& a.bufferSize == b.bufferSize && a.poolSize == b.poolSize && a.poolMaxIdle == b.poolMaxIdle
		&& a.poolIdleStop == b.poolIdleStop && a.probeTimeout == b.probeTimeout && a.probeMode == b.probeMode
		&& a.switchMarginMs == b.switchMarginMs && a.switchMarginPercent == b.switchMarginPercent
		&& a.latencySmoothing == b.latencySmoothing && a.maxLatencyMs == b.maxLatencyMs
		&& a.rise == b.rise && a.fall == b.fall
		&& a.adminEnabled == b.adminEnabled && (!a.adminEnabled || a.adminAddr == b.adminAddr)
		&& a.drainTimeout == b.drainTimeout;
}

} // namespace


extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
	std::string input(reinterpret_cast<const char*>(data), size);
	std::size_t end = input.find('\0');
	std::string text = input.substr(0, end);
	Overrides overrides;
	while (end != std::string::npos)
	{
		std::size_t next = input.find('\0', end + 1);
		std::string argument = input.substr(end + 1, next == std::string::npos ? std::string::npos : next - end - 1);
		end = next;
		try
		{
			overrides.push_back(CommandLine::splitDefine(argument));
		}
		catch (const Poco::Exception&)
		{
			// The command line rejects it (exit 64) before the loader sees it.
		}
	}

	LoadResult first = loadChecked(text, overrides);
	if (!first.settings)
		return 0;
	std::string context = describe(text, overrides);
	FO_FUZZ_CHECK(first.document, context);
	checkBounds(*first.settings, context);

	std::string printed = effective(*first.settings);
	context += "\n  effective: " + printable(printed);
	LoadResult second = loadChecked(printed, Overrides(), true);
	FO_FUZZ_CHECK(second.warnings.empty(), context);
	FO_FUZZ_CHECK(sameSettings(*first.settings, *second.settings), context + "\n  reloaded: " + printable(effective(*second.settings)));
	FO_FUZZ_CHECK(effective(*second.settings) == printed, context);
	return 0;
}
