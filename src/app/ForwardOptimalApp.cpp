#include "app/ForwardOptimalApp.h"

#include "BuildInfo.h"
#include "app/Banner.h"
#include "app/CommandLine.h"
#include "admin/AdminServer.h"
#include "health/HealthMonitor.h"
#include "health/TcpProber.h"
#include "pool/UpstreamPool.h"
#include "proxy/ProxyServer.h"
#include "proxy/Runtime.h"
#include "stats/Counters.h"

#include "Poco/AutoPtr.h"
#include "Poco/JSON/Stringifier.h"
#include "Poco/Net/HTTPClientSession.h"
#include "Poco/Net/HTTPRequest.h"
#include "Poco/Net/HTTPResponse.h"
#include "Poco/Path.h"
#include "Poco/URI.h"
#include "Poco/Util/HelpFormatter.h"
#include "Poco/Util/JSONConfiguration.h"
#include "Poco/Util/LoggingConfigurator.h"
#include "Poco/Util/MapConfiguration.h"
#include "Poco/Util/Option.h"
#include "Poco/Util/OptionException.h"
#include "Poco/Util/OptionProcessor.h"
#include "Poco/Util/OptionSet.h"

#include <csignal>
#include <sys/resource.h>
#include <iostream>
#include <sstream>

#include <pthread.h>

namespace ForwardOptimal {
namespace App {

namespace {

using Poco::Util::Option;
using Poco::Util::OptionSet;

// Layer priorities in the LayeredConfiguration (lower is searched first): -D (POCO's
// application layer, -100) over the config file (0) over the built-in logging defaults.
constexpr int PRIO_CONFIG_FILE = Poco::Util::Application::PRIO_DEFAULT;
constexpr int PRIO_LOGGING_DEFAULTS = Poco::Util::Application::PRIO_DEFAULT + 50;

// SIGHUP (reload) is waited for with them: it must never reach a thread with its default action.
const int TERMINATION_SIGNALS[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP};

sigset_t terminationSignals()
{
	sigset_t set;
	sigemptyset(&set);
	for (int signal : TERMINATION_SIGNALS)
		sigaddset(&set, signal);
	return set;
}

std::string formatSeconds(std::chrono::milliseconds value)
{
	std::ostringstream out;
	out << static_cast<double>(value.count()) / 1000.0;
	return out.str();
}

std::string joinTargets(const Config::Settings& settings)
{
	std::string text = "[";
	for (std::size_t i = 0; i < settings.targets.size(); ++i)
		text += (i ? " " : "") + settings.targets[i].toString();
	return text + "]";
}

// Every session holds two descriptors (client and upstream); queued clients, pooled sockets,
// probes and the process itself need some more. Raises the soft limit towards the hard one if
// that helps, and says so when even that is not enough.
void checkDescriptorBudget(const Config::Settings& settings, Poco::Logger& logger)
{
	rlimit limit{};
	if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
		return;
	rlim_t needed = 2 * static_cast<rlim_t>(settings.maxConnections) + settings.maxQueued
		+ settings.poolSize + settings.targets.size() + 64;
	if (limit.rlim_cur < needed && limit.rlim_cur < limit.rlim_max)
	{
		rlimit raised = limit;
		raised.rlim_cur = std::min(limit.rlim_max, std::max(needed, limit.rlim_cur));
		if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
			limit = raised;
	}
	if (limit.rlim_cur < needed)
		logger.warning("⚠️  maxConnections " + std::to_string(settings.maxConnections) + " needs about "
			+ std::to_string(needed) + " file descriptors, but RLIMIT_NOFILE allows " + std::to_string(limit.rlim_cur)
			+ " (ulimit -n): sessions beyond about " + std::to_string((limit.rlim_cur > 64 + settings.maxQueued ? limit.rlim_cur - 64 - settings.maxQueued : 0) / 2)
			+ " will fail; raise the limit or lower maxConnections");
}

// Where the root logger writes, read from the file's logging section: a daemon has no console.
std::string describeLogDestination(const Config::LoadResult& loaded)
{
	try
	{
		Poco::JSON::Object::Ptr logging = loaded.document->getObject("logging");
		std::string channel = logging ? logging->getObject("loggers")->getObject("root")->getValue<std::string>("channel") : "";
		Poco::JSON::Object::Ptr definition = logging->getObject("channels")->getObject(channel);
		if (definition->getValue<std::string>("class") == "FileChannel")
			return "logs go to " + definition->getValue<std::string>("path");
		return "logs go to the '" + channel + "' channel (" + definition->getValue<std::string>("class") + ")";
	}
	catch (...)
	{
		return "WARNING: logs go to the console, which a daemon does not have: configure a file channel "
			"(see etc/logging-example.json)";
	}
}


int exitCodeFor(const Config::ConfigException& error)
{
	switch (error.kind())
	{
	case Config::ConfigException::Kind::FILE_MISSING:
	case Config::ConfigException::Kind::FILE_UNREADABLE:
		return Poco::Util::Application::EXIT_NOINPUT;
	default:
		return Poco::Util::Application::EXIT_CONFIG;
	}
}

} // namespace


ForwardOptimalApp::ForwardOptimalApp():
	_logger(Poco::Logger::get("ForwardOptimal.App")),
	// Resolved now: with --daemon, POCO changes the working directory to / before main().
	_configPath(Poco::Path("config.json").absolute().toString())
{
}


int ForwardOptimalApp::launch(int argc, char** argv)
{
	// Block the termination signals before any thread exists, so every thread inherits the
	// mask and only waitForSignal() receives them: a SIGTERM delivered to a relay thread
	// would otherwise kill the process with the default action instead of stopping it.
	sigset_t signals = terminationSignals();
	pthread_sigmask(SIG_BLOCK, &signals, nullptr);
	// A peer that closes while we write must cost an EPIPE error, not the process.
	std::signal(SIGPIPE, SIG_IGN);

	std::vector<std::string> args = CommandLine::normalize(argc, argv);
	ForwardOptimalApp app;

	OptionSet options;
	app.defineOptions(options);
	Poco::Util::OptionProcessor processor(options);
	processor.setUnixStyle(true);
	bool daemon = false;
	bool exits = false;  // --help, --version and --check never detach
	std::string configPath = app._configPath;
	Config::Overrides overrides;
	try
	{
		for (std::size_t i = 1; i < args.size(); ++i)
		{
			std::string name, value;
			if (!processor.process(args[i], name, value))
				throw Poco::Util::UnexpectedArgumentException("'" + args[i] + "' (options start with '-')");
			if (name == "define")
				overrides.push_back(CommandLine::splitDefine(value));
			else if (name == "config")
				configPath = value;
			daemon |= (name == "daemon");
			exits |= (name == "help" || name == "version" || name == "check" || name == "health-check");
		}
		processor.checkRequired();
	}
	catch (const Poco::Util::OptionException& error)
	{
		std::cerr << "ForwardOptimal: " << error.displayText() << "\n"
			<< "Try '" << Poco::Path(args[0]).getFileName() << " --help' for the options.\n";
		return EXIT_USAGE;
	}

	if (daemon && !exits)
	{
		try
		{
			Config::LoadResult loaded = Config::SettingsLoader::loadFile(configPath, overrides);
			std::cerr << "ForwardOptimal: starting as a daemon; " << describeLogDestination(loaded) << std::endl;
		}
		catch (const Config::ConfigException& error)
		{
			std::cerr << "ForwardOptimal: " << error.message() << "\n";
			return exitCodeFor(error);
		}
	}

	std::vector<char*> pointers;
	for (auto& arg : args)
		pointers.push_back(&arg[0]);
	pointers.push_back(nullptr);
	return app.run(static_cast<int>(args.size()), pointers.data());
}


void ForwardOptimalApp::defineOptions(OptionSet& options)
{
	ServerApplication::defineOptions(options);

	options.addOption(Option("help", "h", "show the help text and exit").required(false).repeatable(false));
	options.addOption(Option("version", "v", "show version, build date and commit, and exit").required(false).repeatable(false));
	options.addOption(Option("config", "c", "configuration file (default: config.json)")
		.required(false).repeatable(false).argument("file"));
	options.addOption(Option("define", "D", "override a configuration key, repeatable")
		.required(false).repeatable(true).argument("key=value"));
	options.addOption(Option("check", "t", "validate the configuration, print the effective settings, and exit")
		.required(false).repeatable(false));
	options.addOption(Option("health-check", "", "GET the URL (the admin /healthz), exit 0 on 2xx, else 1")
		.required(false).repeatable(false).argument("url"));
}


void ForwardOptimalApp::handleOption(const std::string& name, const std::string& value)
{
	ServerApplication::handleOption(name, value);

	if (name == "help" || name == "version")
	{
		(name == "help" ? _helpRequested : _versionRequested) = true;
		stopOptionsProcessing();
	}
	else if (name == "config")
		_configPath = Poco::Path(value).absolute().toString();
	else if (name == "define")
	{
		auto define = CommandLine::splitDefine(value);
		_overrides.push_back(define);
		config().setString(define.first, define.second); // POCO style: -D reaches config() too
	}
	else if (name == "check")
		_checkOnly = true;
	else if (name == "health-check")
	{
		_healthCheckUrl = value;
		stopOptionsProcessing();
	}
}


void ForwardOptimalApp::initialize(Application& self)
{
	if (!_helpRequested && !_versionRequested && _healthCheckUrl.empty())
		loadSettings();
	ServerApplication::initialize(self);
}


void ForwardOptimalApp::loadSettings()
{
	Poco::AutoPtr<Poco::Util::MapConfiguration> pDefaults = new Poco::Util::MapConfiguration;
	pDefaults->setString("logging.formatters.fo.class", "PatternFormatter");
	pDefaults->setString("logging.formatters.fo.pattern", "%Y-%m-%d %H:%M:%S.%i [%p] %t");
	pDefaults->setString("logging.formatters.fo.times", "local");
	pDefaults->setString("logging.channels.console.class", "ConsoleChannel");
	pDefaults->setString("logging.channels.console.formatter", "fo");
	pDefaults->setString("logging.loggers.root.channel", "console");
	pDefaults->setString("logging.loggers.root.level", "information");
	config().add(pDefaults, PRIO_LOGGING_DEFAULTS, false);

	try
	{
		_loaded = Config::SettingsLoader::loadFile(_configPath, _overrides);
		installLogging(_loaded);
	}
	catch (const Config::ConfigException& error)
	{
		_pConfigError = std::make_unique<Config::ConfigException>(error);
	}
	catch (const Poco::Exception& error)
	{
		// Application::run() calls initialize() outside its try block: nothing may escape.
		_pConfigError = std::make_unique<Config::ConfigException>(
			Config::ConfigException::Kind::INVALID, _configPath, "", error.displayText());
	}
}


void ForwardOptimalApp::installLogging(const Config::LoadResult& loaded)
{
	// The whole document becomes a POCO configuration layer, so `logging.*` in the file and
	// `-D logging.*` work exactly as in any POCO application. A reload swaps the layer.
	Poco::Util::AbstractConfiguration::Ptr pPrevious = _pFileLayer;
	Poco::Util::AbstractConfiguration::Ptr pNext = new Poco::Util::JSONConfiguration(loaded.document);
	if (pPrevious)
		config().removeConfiguration(pPrevious);
	config().add(pNext, PRIO_CONFIG_FILE, false);
	// configure() takes an AutoPtr: share the reference, or it would release config() itself.
	Poco::Util::AbstractConfiguration::Ptr pConfig(&config(), true);
	try
	{
		Poco::Util::LoggingConfigurator().configure(pConfig);
		_pFileLayer = pNext;
	}
	catch (const Poco::Exception& error)
	{
		config().removeConfiguration(pNext);
		if (pPrevious)
			config().add(pPrevious, PRIO_CONFIG_FILE, false);
		Poco::Util::LoggingConfigurator().configure(pConfig);
		throw Config::ConfigException(Config::ConfigException::Kind::INVALID, loaded.settings->sourceFile, "logging", error.displayText());
	}
}


int ForwardOptimalApp::main(const std::vector<std::string>& args)
{
	if (_helpRequested)
	{
		std::cout << CommandLine::usage(commandName()) << std::flush;
		return EXIT_OK;
	}
	if (_versionRequested)
	{
		std::cout << CommandLine::version() << std::flush;
		return EXIT_OK;
	}
	if (!_healthCheckUrl.empty())
		return healthCheck(_healthCheckUrl);
	if (!args.empty())
	{
		_logger.error("unexpected argument '" + args.front() + "'; see --help");
		return EXIT_USAGE;
	}
	if (_pConfigError)
		return reportConfigError(*_pConfigError);
	for (const auto& warning : _loaded.warnings)
		_logger.warning("⚠️  " + warning);
	return _checkOnly ? check() : serve();
}


int ForwardOptimalApp::reportConfigError(const Config::ConfigException& error)
{
	_logger.fatal("❌ " + std::string(error.kind() == Config::ConfigException::Kind::FILE_MISSING
		? "配置文件不存在" : "配置无效") + ": " + error.message());
	return exitCodeFor(error);
}


int ForwardOptimalApp::healthCheck(const std::string& url)
{
	// For container HEALTHCHECKs: the slim image has no curl, and the binary already speaks HTTP.
	try
	{
		Poco::URI uri(url);
		Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
		session.setTimeout(Poco::Timespan(3, 0));
		Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, uri.getPathAndQuery(), Poco::Net::HTTPMessage::HTTP_1_1);
		session.sendRequest(request);
		Poco::Net::HTTPResponse response;
		session.receiveResponse(response);
		int status = static_cast<int>(response.getStatus());
		std::cout << url << ": " << status << " " << response.getReason() << std::endl;
		return status >= 200 && status < 300 ? EXIT_OK : 1;
	}
	catch (const Poco::Exception& error)
	{
		std::cout << url << ": " << error.displayText() << std::endl;
		return 1;
	}
}


int ForwardOptimalApp::check()
{
	std::cout << "ForwardOptimal: configuration file " << _loaded.settings->sourceFile << " test is successful\n";
	Poco::JSON::Stringifier::stringify(_loaded.settings->toJson(), std::cout, 2);
	std::cout << std::endl;
	return EXIT_OK;
}


int ForwardOptimalApp::serve()
{
	const Config::Settings& settings = *_loaded.settings;
	_logger.information("\n" + Banner::render(BuildInfo::VERSION, BuildInfo::BUILD_DATE, BuildInfo::COMMIT, BuildInfo::AUTHOR));
	_logger.information("🚀 程序启动中...");
	_logger.information("📁 配置文件: " + settings.sourceFile);
	_logger.information("✅ 配置加载成功");
	_logger.information("🌐 监听地址: " + settings.bindAddr.toString());
	_logger.information("🎯 目标节点: " + joinTargets(settings));
	_logger.information("⏱️  检查间隔: " + formatSeconds(settings.updateInterval) + "秒 (故障时: "
		+ formatSeconds(settings.failureInterval) + "秒)");
	_logger.information("🔗 Proxy Protocol: " + (settings.proxyProtocol == Config::ProxyProtocol::NONE
		? std::string("未启用") : Config::toString(settings.proxyProtocol)));

	checkDescriptorBudget(settings, _logger);
	Stats::Counters counters;
	auto pRuntime = std::make_shared<Proxy::Runtime>(_loaded.settings,
		std::make_unique<Health::TcpProber>(settings.proxyProtocol), counters);
	Proxy::ConnectionContext context(pRuntime, counters);
	pRuntime.reset(); // the context owns it from here on (a reload replaces it)
	std::unique_ptr<Proxy::ProxyServer> pServer;
	try
	{
		pServer = std::make_unique<Proxy::ProxyServer>(settings, context);
	}
	catch (const Poco::Exception& error)
	{
		_logger.fatal("❌ 无法监听: " + error.message());
		return EXIT_UNAVAILABLE;
	}
	Poco::Timestamp started;
	std::unique_ptr<Admin::AdminServer> pAdmin;
	if (settings.adminEnabled)
	{
		try
		{
			const Proxy::ProxyServer* pProxy = pServer.get(); // outlives the admin server
			pAdmin = std::make_unique<Admin::AdminServer>(settings.adminAddr, [&context, &counters, pProxy, started] {
				pProxy->syncCounters();
				std::shared_ptr<Proxy::Runtime> pCurrent = context.runtime();
				Admin::AdminView view;
				view.pSnapshot = pCurrent->monitor().snapshot();
				view.pSettings = pCurrent->settingsPtr();
				view.pCounters = &counters;
				if (const Health::TargetStatus* pBest = view.pSnapshot->best())
				{
					view.poolIdle = pCurrent->pool().idleCount(pBest->target);
					view.poolMaxIdle = pCurrent->pool().maxIdle(pBest->target);
					view.poolLearnedLifetime = pCurrent->pool().learnedLifetime(pBest->target);
				}
				else
					view.poolMaxIdle = view.pSettings->poolMaxIdle;
				view.poolWarm = pCurrent->pool().warm();
				view.poolPreconnectDisabled = pCurrent->pool().preconnectDisabled();
				view.started = started;
				return view;
			});
		}
		catch (const Poco::Exception& error)
		{
			_logger.fatal("❌ 无法监听管理接口 (adminAddr): " + error.message());
			return EXIT_UNAVAILABLE;
		}
	}

	context.runtime()->start(); // the first round runs now, so the first clients already have a route
	pServer->start();
	if (pAdmin)
		pAdmin->start();
	_logger.information("🎉 TCP转发服务器启动成功!");
	_logger.information("🔗 监听地址: " + pServer->address().toString());
	_logger.information("🎯 目标节点数量: " + std::to_string(settings.targets.size()));
	if (pAdmin)
	{
		_logger.information("📊 管理接口: http://" + pAdmin->address().toString() + " (/metrics /status /healthz /readyz)");
		if (!pAdmin->address().host().isLoopback())
			_logger.warning("⚠️  管理接口监听在非回环地址 " + pAdmin->address().toString()
				+ " (adminAddr): 任何能连到它的人都能读取状态和指标");
	}

	int signal;
	while ((signal = waitForSignal(-1)) == SIGHUP)
		reload(context, counters);
	drain(*pServer, counters, context.runtime()->settings(), signal);
	if (pAdmin)
		pAdmin->stop();
	context.runtime()->stop();
	_logger.information("👋 ForwardOptimal 已停止");
	return EXIT_OK;
}


void ForwardOptimalApp::reload(Proxy::ConnectionContext& context, Stats::Counters& counters)
{
	_logger.information("🔄 收到 SIGHUP, 重新加载配置: " + _configPath);
	Config::LoadResult loaded;
	try
	{
		loaded = Config::SettingsLoader::loadFile(_configPath, _overrides);
		installLogging(loaded);
	}
	catch (const Config::ConfigException& error)
	{
		_logger.error("❌ 重新加载失败, 继续使用原来的配置: " + error.message());
		return;
	}
	for (const auto& warning : loaded.warnings)
		_logger.warning("⚠️  " + warning);

	// These shape the listening sockets and the thread pool, which live as long as the process.
	const Config::Settings& running = *_loaded.settings;
	const Config::Settings& next = *loaded.settings;
	auto needsRestart = [&](const std::string& key, const std::string& now, const std::string& wanted) {
		if (now != wanted)
			_logger.warning("⚠️  " + key + " 从 " + now + " 改为 " + wanted + " 需要重启才能生效; 目前仍为 " + now);
	};
	needsRestart("bindAddr", running.bindAddr.toString(), next.bindAddr.toString());
	needsRestart("maxConnections", std::to_string(running.maxConnections), std::to_string(next.maxConnections));
	needsRestart("maxQueued", std::to_string(running.maxQueued), std::to_string(next.maxQueued));
	needsRestart("adminAddr", running.adminEnabled ? running.adminAddr.toString() : "\"\"",
		next.adminEnabled ? next.adminAddr.toString() : "\"\"");

	auto pNext = std::make_shared<Proxy::Runtime>(loaded.settings, std::make_unique<Health::TcpProber>(next.proxyProtocol), counters);
	pNext->start(); // its first round runs before any client sees it
	context.replace(pNext)->stop(); // sessions that hold the old runtime finish with it
	_logger.information("✅ 配置已重新加载: 目标节点 " + joinTargets(next) + ", 检查间隔 " + formatSeconds(next.updateInterval)
		+ "秒 (故障时: " + formatSeconds(next.failureInterval) + "秒), Proxy Protocol: "
		+ (next.proxyProtocol == Config::ProxyProtocol::NONE ? std::string("未启用") : Config::toString(next.proxyProtocol))
		+ "; 进行中的会话不受影响");
}


void ForwardOptimalApp::drain(Proxy::ProxyServer& server, const Stats::Counters& counters,
	const Config::Settings& settings, int signal)
{
	server.stopAccepting();
	std::int64_t active = counters.activeSessions;
	_logger.information("🛑 收到信号 " + signalName(signal) + ", 不再接受新连接; 等待 " + std::to_string(active)
		+ " 个会话结束 (最多 " + formatSeconds(settings.drainTimeout) + " 秒, 再次发送信号立即退出)");
	auto deadline = std::chrono::steady_clock::now() + settings.drainTimeout;
	while (counters.activeSessions > 0 && std::chrono::steady_clock::now() < deadline)
	{
		int again = waitForSignal(100);
		if (again == SIGHUP)
			continue; // no reloading while stopping
		if (again != 0)
		{
			_logger.warning("⏩ 再次收到信号 " + signalName(again) + ": 立即关闭剩余 "
				+ std::to_string(counters.activeSessions.load()) + " 个会话");
			break;
		}
	}
	active = counters.activeSessions;
	if (active > 0)
		_logger.warning("⏱️ 关闭仍在进行的 " + std::to_string(active) + " 个会话");
	else
		_logger.information("✅ 所有会话已结束");
	server.stop();
}


std::string ForwardOptimalApp::signalName(int signal)
{
	return signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : signal == SIGQUIT ? "SIGQUIT" : std::to_string(signal);
}


int ForwardOptimalApp::waitForSignal(int timeoutMs)
{
	sigset_t signals = terminationSignals();
	if (timeoutMs < 0)
	{
		int signal = 0;
		while (sigwait(&signals, &signal) != 0)
		{
		}
		return signal;
	}
	timespec timeout{timeoutMs / 1000, static_cast<long>(timeoutMs % 1000) * 1000000L};
	int signal = sigtimedwait(&signals, nullptr, &timeout);
	return signal > 0 ? signal : 0;
}

} } // namespace ForwardOptimal::App
