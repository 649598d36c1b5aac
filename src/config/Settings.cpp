#include "config/Settings.h"

#include "Poco/JSON/Array.h"

namespace ForwardOptimal {
namespace Config {

namespace {

double seconds(std::chrono::milliseconds value)
{
	return static_cast<double>(value.count()) / 1000.0;
}

} // namespace


std::string toString(ProxyProtocol version)
{
	switch (version)
	{
	case ProxyProtocol::V1: return "v1";
	case ProxyProtocol::V2: return "v2";
	default: return "";
	}
}


std::string toString(ProbeMode mode)
{
	return mode == ProbeMode::CONNECT ? "connect" : "syn";
}


Poco::JSON::Object::Ptr Settings::toJson() const
{
	// preserveInsertionOrder, so the output reads in the same order as the README's table.
	Poco::JSON::Object::Ptr json = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
	json->set("bindAddr", bindAddr.toString());
	Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
	for (const auto& target : targets)
		list->add(target.toString());
	json->set("targets", list);
	json->set("updateInterval", seconds(updateInterval));
	json->set("failureInterval", seconds(failureInterval));
	json->set("proxyProtocol", toString(proxyProtocol));
	json->set("maxConnections", maxConnections);
	json->set("maxQueued", maxQueued);
	json->set("maxConnectionsPerSource", maxConnectionsPerSource);
	json->set("connectTimeout", seconds(connectTimeout));
	json->set("idleTimeout", seconds(idleTimeout));
	json->set("bufferSize", bufferSize);
	json->set("poolSize", poolSize);
	json->set("poolMaxIdle", seconds(poolMaxIdle));
	json->set("probeTimeout", seconds(probeTimeout));
	json->set("probeMode", toString(probeMode));
	json->set("switchMargin", switchMarginMs);
	json->set("switchMarginPercent", switchMarginPercent);
	json->set("latencySmoothing", latencySmoothing);
	json->set("maxLatency", maxLatencyMs);
	json->set("rise", rise);
	json->set("fall", fall);
	json->set("adminAddr", adminEnabled ? adminAddr.toString() : std::string());
	json->set("drainTimeout", seconds(drainTimeout));
	return json;
}

} } // namespace ForwardOptimal::Config
