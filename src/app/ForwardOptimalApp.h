#pragma once

#include "config/ConfigException.h"
#include "config/SettingsLoader.h"

#include "Poco/Logger.h"
#include "Poco/Util/ServerApplication.h"

#include <memory>
#include <string>
#include <vector>

namespace ForwardOptimal {
namespace Proxy { class ProxyServer; class ConnectionContext; }
namespace Stats { struct Counters; }
namespace App {

/// The process: command line, configuration layering, logging set-up, start-up report,
/// wiring of the servers, and exit codes. Written in the shape of POCO's SampleServer.
/// Exit codes (POCO's Application::ExitCode, i.e. sysexits.h):
///   0 ok, 64 bad command line, 66 config file missing or unreadable, 69 cannot listen,
///   70 internal error, 73 cannot write the --ports-file, 78 invalid configuration.
class ForwardOptimalApp: public Poco::Util::ServerApplication
{
public:
	ForwardOptimalApp();

	static int launch(int argc, char** argv);
		/// What main() calls: prepares the process (signal mask, SIGPIPE), checks the command
		/// line so a mistake exits 64 with a hint instead of POCO's generic 78, validates the
		/// configuration before `--daemon` detaches (so errors reach the operator's terminal),
		/// then runs the application.

protected:
	void initialize(Poco::Util::Application& self) override;
	void defineOptions(Poco::Util::OptionSet& options) override;
	void handleOption(const std::string& name, const std::string& value) override;
	int main(const std::vector<std::string>& args) override;

private:
	void loadSettings();
	void installLogging(const Config::LoadResult& loaded);
	void reload(Proxy::ConnectionContext& context, Stats::Counters& counters);
	int reportConfigError(const Config::ConfigException& error);
	int check();
	int healthCheck(const std::string& url);
	int serve();
	void drain(Proxy::ProxyServer& server, const Stats::Counters& counters, const Config::Settings& settings, int signal);
	static int waitForSignal(int timeoutMs);
		/// A termination signal (-1: wait for ever), or 0 when `timeoutMs` passed without one.
	static std::string signalName(int signal);

	Poco::Logger& _logger;
	bool _helpRequested = false;
	bool _versionRequested = false;
	bool _checkOnly = false;
	std::string _healthCheckUrl;
	std::string _configPath;
	std::string _portsFilePath;   // --ports-file, absolute; "" when not asked for
	Config::Overrides _overrides;
	Config::LoadResult _loaded;
	std::unique_ptr<Config::ConfigException> _pConfigError;
	Poco::Util::AbstractConfiguration::Ptr _pFileLayer;   // the config file's layer in config()
};

} } // namespace ForwardOptimal::App
