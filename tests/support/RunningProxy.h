#pragma once

#include "AdminClient.h"
#include "SettingsBuilder.h"
#include "TestSupport.h"

#include "Poco/Net/SocketAddress.h"

#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ForwardOptimal {
namespace Test {

/// How RunningProxy starts the process.
struct ProxyOptions
{
	std::string workingDir;                        ///< the child's working directory; "" = the test's
	int descriptorLimit = 0;                       ///< RLIMIT_NOFILE, soft and hard, for the child; 0 = inherited
	std::vector<std::string> prefix;               ///< run through this, e.g. {"/usr/sbin/ip", "netns", "exec", NAME}
	std::chrono::milliseconds startTimeout = 30s;  ///< how long the ports file may take (sanitizer builds are slow)

	static ProxyOptions inDirectory(const std::string& directory)
	{
		ProxyOptions options;
		options.workingDir = directory;
		return options;
	}
};

/// The real ForwardOptimal binary (FO_BINARY) as a child process, its output captured. It is
/// started with `--ports-file` and counts as running once that file appears: the harness reads
/// the ports the process really listens on from it (the config asks for port 0), so nothing
/// guesses a free port and nothing reads the log for an address. The constructor throws
/// std::runtime_error, with the output so far, if the process exits first or the file does not
/// appear in time. The destructor kills (SIGKILL) what is still running. Not thread-safe
/// except log(), which reader threads fill.
class RunningProxy
{
public:
	using Options = ProxyOptions;

	explicit RunningProxy(const SettingsBuilder& settings, const std::vector<std::string>& args = {}, const Options& options = Options());
		/// With `settings` written to fo.json in the proxy's own directory: `-c FILE` then `args`.
	explicit RunningProxy(const std::vector<std::string>& args, const Options& options = Options());
		/// With exactly `args` (and --ports-file) on the command line.

	~RunningProxy();
	RunningProxy(const RunningProxy&) = delete;
	RunningProxy& operator=(const RunningProxy&) = delete;

	Poco::Net::SocketAddress listen() const;
		/// Where to connect: the listen address, with a wildcard host replaced by loopback.
	const std::string& listenAddress() const { return _listen; }
		/// The listen address as the ports file gives it (e.g. "127.0.0.1:40123", "[::]:40123").
	const std::string& adminAddress() const { return _admin; }
		/// "host:port" of the admin endpoint; "" when it is off.
	AdminClient admin(std::chrono::milliseconds retryFor = std::chrono::milliseconds(0)) const;
		/// A client of the admin endpoint (see AdminClient for `retryFor`).

	const std::string& configFile() const { return _configFile; }
		/// The file the settings were written to ("" with the argument-only constructor).
	void rewriteConfig(const SettingsBuilder& settings) const;
		/// Replaces configFile()'s content (for a SIGHUP reload).
	const TempDir& dir() const { return _dir; }
		/// The proxy's own directory (config, ports file); removed on destruction.
	const std::string& portsFile() const { return _portsFile; }

	pid_t pid() const { return _pProcess->pid(); }
	std::string log() const { return _pProcess->all(); }
		/// Everything it wrote to stdout and stderr so far.
	bool waitForLog(const std::string& text, std::chrono::milliseconds timeout = 20s) const;
		/// Waits until the output contains `text`.

	void signal(int number) const { _pProcess->signal(number); }
	std::optional<int> waitExit(std::chrono::milliseconds timeout) { return _pProcess->waitExit(timeout); }
		/// Its exit status once it has exited (128 + signal when killed by one), else nothing.
	int stop(int number = SIGTERM, std::chrono::milliseconds timeout = 20s);
		/// Sends the signal and waits for the exit: the exit status, or -1 if it did not exit.
	bool running() { return !_pProcess->waitExit(std::chrono::milliseconds(0)); }

private:
	void start(std::vector<std::string> args, const Options& options);

	TempDir _dir;
	std::string _configFile;
	std::string _portsFile;
	std::unique_ptr<ChildProcess> _pProcess;
	std::string _listen;
	std::string _admin;
};

} } // namespace ForwardOptimal::Test
