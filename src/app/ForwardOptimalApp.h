#pragma once

#include "app/CommandLine.h"
#include "config/ConfigException.h"
#include "config/SettingsLoader.h"

#include "Poco/Logger.h"
#include "Poco/Util/ServerApplication.h"

#include <memory>
#include <string>
#include <vector>

namespace ForwardOptimal {
namespace App {

class Service;

/// The process: command line, configuration layering, logging set-up, start-up report, the
/// Service's life (start, reload on SIGHUP, drain on SIGTERM/SIGINT/SIGQUIT, stop), and exit
/// codes. Written in the shape of POCO's SampleServer.
/// Exit codes (POCO's Application::ExitCode, i.e. sysexits.h):
///   0 ok, 64 bad command line, 66 config file missing or unreadable, 69 cannot listen,
///   70 internal error, 73 cannot write the --ports-file, 78 invalid configuration.
///
/// The command line is parsed once, by launch() (CommandLine::parse), before run(): POCO's own
/// option processing would turn a mistake into its generic exit 78, and `--daemon` detaches at
/// the top of run(), before any option handler, too late to report a bad configuration on the
/// operator's terminal. run() is then given argv[0] and ServerApplication's own options only
/// (--daemon, --pidfile, --umask), which POCO processes as usual; so handleOption() needs no
/// override, and no option of ours is parsed twice.
class ForwardOptimalApp: public Poco::Util::ServerApplication
{
public:
	ForwardOptimalApp();
	~ForwardOptimalApp() override;

	static int launch(int argc, char** argv);
		/// What main() calls: prepares the process (signal mask, SIGPIPE), parses the command
		/// line (a mistake exits 64 with a hint), validates the configuration before `--daemon`
		/// detaches (so errors reach the operator's terminal), then runs the application.

protected:
	void initialize(Poco::Util::Application& self) override;
	void defineOptions(Poco::Util::OptionSet& options) override;
	int main(const std::vector<std::string>& args) override;

private:
	void loadSettings();
	void installLogging(const Config::LoadResult& loaded);
	int reportConfigError(const Config::ConfigException& error);
	int check();
	int healthCheck(const std::string& url);
	int serve();
	void logStarting(const Config::Settings& settings);
	void logStarted(const Service& service, const Config::Settings& settings);
	void reload(Service& service);
	void logRestartOnlyChanges(const Config::Settings& running, const Config::Settings& next);
	void drain(Service& service, int signal);
	static int waitForSignal(int timeoutMs);
		/// A termination signal (-1: wait for ever), or 0 when `timeoutMs` passed without one.
	static std::string signalName(int signal);

	Poco::Logger& _logger;
	Invocation _invocation;
	Config::LoadResult _loaded;            // as loaded at start: what the listeners were built from
	std::unique_ptr<Config::ConfigException> _pConfigError;
	Poco::Util::AbstractConfiguration::Ptr _pFileLayer;   // the config file's layer in config()
};

} } // namespace ForwardOptimal::App
