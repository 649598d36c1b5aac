#include "config/Settings.h"

#include "config/SettingsKey.h"

namespace ForwardOptimal {
namespace Config {

std::string toString(ProxyProtocol version)
{
	switch (version)
	{
	case ProxyProtocol::V1: return "v1";
	case ProxyProtocol::V2: return "v2";
	default: return "";
	}
}


std::string toString(AcceptProxy mode)
{
	switch (mode)
	{
	case AcceptProxy::V1: return "v1";
	case AcceptProxy::V2: return "v2";
	case AcceptProxy::ANY: return "any";
	default: return "";
	}
}


std::string toString(ProbeMode mode)
{
	return mode == ProbeMode::CONNECT ? "connect" : "syn";
}


std::string toString(SpliceMode mode)
{
	switch (mode)
	{
	case SpliceMode::ALWAYS: return "always";
	case SpliceMode::OFF: return "off";
	default: return "auto";
	}
}


Settings::Settings()
{
	for (const auto& key : SettingsKey::all())
		key.applyDefault(*this);
	adminAddrExplicit = false; // storing the default set it, as any stored adminAddr does
}


Poco::JSON::Object::Ptr Settings::toJson() const
{
	// preserveInsertionOrder, so the output reads in the same order as the README's table.
	Poco::JSON::Object::Ptr json = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
	for (const auto& key : SettingsKey::all())
		json->set(key.name(), key.print(*this));
	return json;
}

} } // namespace ForwardOptimal::Config
