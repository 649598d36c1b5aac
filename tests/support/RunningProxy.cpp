#include "RunningProxy.h"

#include "Poco/JSON/Object.h"
#include "Poco/JSON/Parser.h"

#include <fstream>
#include <iterator>
#include <stdexcept>

namespace ForwardOptimal {
namespace Test {

RunningProxy::RunningProxy(const SettingsBuilder& settings, const std::vector<std::string>& args, const Options& options):
	_configFile(settings.write(_dir))
{
	std::vector<std::string> all{"-c", _configFile};
	all.insert(all.end(), args.begin(), args.end());
	start(all, options);
}


RunningProxy::RunningProxy(const std::vector<std::string>& args, const Options& options)
{
	start(args, options);
}


RunningProxy::~RunningProxy() = default;


void RunningProxy::start(std::vector<std::string> args, const Options& options)
{
	_portsFile = _dir.path() + "/ports.json";
	args.insert(args.begin(), binaryPath());
	args.push_back("--ports-file=" + _portsFile);
	if (options.descriptorLimit > 0)
	{
		// The shell's ulimit sets the soft and the hard limit, so ForwardOptimal cannot raise it;
		// exec keeps the pid.
		args.insert(args.begin(), {"/bin/sh", "-c", "ulimit -n " + std::to_string(options.descriptorLimit) + " && exec \"$0\" \"$@\""});
	}
	args.insert(args.begin(), options.prefix.begin(), options.prefix.end());
	_pProcess = std::make_unique<ChildProcess>(args, options.workingDir);

	auto content = [&] {
		std::ifstream in(_portsFile);
		return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
	};
	bool exited = false;
	waitFor([&] { return (exited = _pProcess->waitExit(std::chrono::milliseconds(0)).has_value()) || !content().empty(); },
		options.startTimeout);
	std::string ports = content();
	if (ports.empty())
		throw std::runtime_error(std::string("ForwardOptimal ") + (exited ? "exited before it listened" : "wrote no ports file in time")
			+ "; its output:\n" + _pProcess->all());
	Poco::JSON::Object::Ptr json = Poco::JSON::Parser().parse(ports).extract<Poco::JSON::Object::Ptr>();
	_listen = json->getValue<std::string>("listen");
	_admin = json->optValue<std::string>("admin", "");
}


Poco::Net::SocketAddress RunningProxy::listen() const
{
	Poco::Net::SocketAddress address(_listen);
	if (!address.host().isWildcard())
		return address;
	return Poco::Net::SocketAddress(address.family() == Poco::Net::SocketAddress::IPv6 ? "::1" : "127.0.0.1", address.port());
}


AdminClient RunningProxy::admin(std::chrono::milliseconds retryFor) const
{
	if (_admin.empty())
		throw std::logic_error("the admin endpoint is off (adminAddr \"\")");
	return AdminClient(_admin, retryFor);
}


void RunningProxy::rewriteConfig(const SettingsBuilder& settings) const
{
	if (_configFile.empty())
		throw std::logic_error("started without settings: no config file to rewrite");
	std::ofstream(_configFile, std::ios::binary | std::ios::trunc) << settings.text();
}


bool RunningProxy::waitForLog(const std::string& text, std::chrono::milliseconds timeout) const
{
	return _pProcess->waitForOutput(text, timeout);
}


int RunningProxy::stop(int number, std::chrono::milliseconds timeout)
{
	if (running())
		signal(number);
	return waitExit(timeout).value_or(-1);
}

} } // namespace ForwardOptimal::Test
