#include "app/ForwardOptimalApp.h"

#include "BuildInfo.h"
#include "app/Banner.h"
#include "app/CommandLine.h"
#include "app/PortsFile.h"
#include "app/Service.h"
#include "config/SettingsKey.h"
#include "proxy/PipePool.h"

#include "Poco/AutoPtr.h"
#include "Poco/JSON/Stringifier.h"
#include "Poco/Net/HTTPClientSession.h"
#include "Poco/Net/HTTPRequest.h"
#include "Poco/Net/HTTPResponse.h"
#include "Poco/Path.h"
#include "Poco/URI.h"
#include "Poco/Util/JSONConfiguration.h"
#include "Poco/Util/LoggingConfigurator.h"
#include "Poco/Util/MapConfiguration.h"
#include "Poco/Util/OptionException.h"
#include "Poco/Util/OptionSet.h"

#include <csignal>
#include <optional>
#include <sys/resource.h>
#include <iostream>
#include <sstream>

#include <pthread.h>

namespace ForwardOptimal {
namespace App {

namespace {

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

std::string proxyProtocolText(const Config::Settings& settings)
{
	return settings.proxyProtocol == Config::ProxyProtocol::NONE ? std::string("未启用") : Config::toString(settings.proxyProtocol);
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
	// The splice pipes are not counted: their pool takes only what this leaves (PipePool::capacityFor).
	rlim_t needed = Proxy::PipePool::sessionDescriptors(settings);
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

// The string at `key` of `pObject`, or "" when there is no such object, key or string.
std::string stringAt(const Poco::JSON::Object::Ptr& pObject, const std::string& key)
{
	if (!pObject || !pObject->has(key))
		return "";
	const Poco::Dynamic::Var& value = pObject->get(key);
	return value.isString() ? value.extract<std::string>() : "";
}

// Where the root logger writes, read from the file's logging section: a daemon has no console.
// Each step may be missing (no logging section, no root channel, an undefined channel).
std::string describeLogDestination(const Config::LoadResult& loaded)
{
	using Poco::JSON::Object;
	Object::Ptr pLogging = loaded.document ? loaded.document->getObject("logging") : Object::Ptr();
	Object::Ptr pLoggers = pLogging ? pLogging->getObject("loggers") : Object::Ptr();
	std::string channel = stringAt(pLoggers ? pLoggers->getObject("root") : Object::Ptr(), "channel");
	Object::Ptr pChannels = pLogging ? pLogging->getObject("channels") : Object::Ptr();
	Object::Ptr pDefinition = pChannels && !channel.empty() ? pChannels->getObject(channel) : Object::Ptr();
	std::string className = stringAt(pDefinition, "class");
	std::string path = stringAt(pDefinition, "path");
	if (className == "FileChannel" && !path.empty())
		return "logs go to " + path;
	if (!className.empty() && className != "FileChannel")
		return "logs go to the '" + channel + "' channel (" + className + ")";
	return "WARNING: logs go to the console, which a daemon does not have: configure a file channel "
		"(see etc/logging-example.json)";
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


// With --daemon, POCO detaches at the top of run() and points stderr at /dev/null: load the
// configuration here first, so a mistake still reaches the operator's terminal, and say where
// the logs will go. EXIT_OK to go on.
int checkBeforeDetaching(const Invocation& invocation)
{
	try
	{
		Config::LoadResult loaded = Config::SettingsLoader::loadFile(invocation.configPath, invocation.overrides);
		std::cerr << "ForwardOptimal: starting as a daemon; " << describeLogDestination(loaded) << std::endl;
		return Poco::Util::Application::EXIT_OK;
	}
	catch (const Config::ConfigException& error)
	{
		std::cerr << "ForwardOptimal: " << error.message() << "\n";
		return exitCodeFor(error);
	}
}

} // namespace


ForwardOptimalApp::ForwardOptimalApp():
	_logger(Poco::Logger::get("ForwardOptimal.App"))
{
}


ForwardOptimalApp::~ForwardOptimalApp() = default;


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
	try
	{
		OptionSet options;
		app.defineOptions(options);
		app._invocation = CommandLine::parse(args, options);
	}
	catch (const Poco::Util::OptionException& error)
	{
		std::cerr << "ForwardOptimal: " << error.displayText() << "\n"
			<< "Try '" << Poco::Path(args[0]).getFileName() << " --help' for the options.\n";
		return EXIT_USAGE;
	}

	// Help, version, check and health-check end at once: POCO gets none of its options then, so
	// they never detach or write a pid file.
	std::vector<std::string> pocoArgs{args.front()};
	if (app._invocation.action == Invocation::Action::SERVE)
	{
		if (app._invocation.daemon)
		{
			if (int code = checkBeforeDetaching(app._invocation); code != EXIT_OK)
				return code;
		}
		pocoArgs.insert(pocoArgs.end(), app._invocation.serverArguments.begin(), app._invocation.serverArguments.end());
	}
	std::vector<char*> pointers;
	for (auto& arg : pocoArgs)
		pointers.push_back(&arg[0]);
	pointers.push_back(nullptr);
	return app.run(static_cast<int>(pocoArgs.size()), pointers.data());
}


void ForwardOptimalApp::defineOptions(OptionSet& options)
{
	ServerApplication::defineOptions(options);
	CommandLine::defineOptions(options);
}


void ForwardOptimalApp::initialize(Application& self)
{
	ServerApplication::initialize(self);
	if (_invocation.action == Invocation::Action::SERVE || _invocation.action == Invocation::Action::CHECK)
		loadSettings();
}


void ForwardOptimalApp::loadSettings()
{
	for (const auto& [key, value] : _invocation.overrides)
		config().setString(key, value); // POCO style (SampleApp): -D reaches config() too, over the file

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
		_loaded = Config::SettingsLoader::loadFile(_invocation.configPath, _invocation.overrides);
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
			Config::ConfigException::Kind::INVALID, _invocation.configPath, "", error.displayText());
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


int ForwardOptimalApp::main(const std::vector<std::string>&)
{
	// No arguments reach here: CommandLine::parse() rejected any that is not an option.
	switch (_invocation.action)
	{
	case Invocation::Action::HELP:
		std::cout << CommandLine::usage(commandName()) << std::flush;
		return EXIT_OK;
	case Invocation::Action::VERSION:
		std::cout << CommandLine::version() << std::flush;
		return EXIT_OK;
	case Invocation::Action::HEALTH_CHECK:
		return healthCheck(_invocation.healthCheckUrl);
	case Invocation::Action::CHECK:
	case Invocation::Action::SERVE:
		break;
	}
	if (_pConfigError)
		return reportConfigError(*_pConfigError);
	for (const auto& warning : _loaded.warnings)
		_logger.warning("⚠️  " + warning);
	return _invocation.action == Invocation::Action::CHECK ? check() : serve();
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
	logStarting(settings);
	checkDescriptorBudget(settings, _logger);
	std::unique_ptr<Service> pService;
	try
	{
		pService = std::make_unique<Service>(_loaded.settings);
	}
	catch (const AdminListenException& error)
	{
		_logger.fatal("❌ 无法监听管理接口 (adminAddr): " + error.message());
		return EXIT_UNAVAILABLE;
	}
	catch (const Poco::Exception& error)
	{
		_logger.fatal("❌ 无法监听: " + error.message());
		return EXIT_UNAVAILABLE;
	}
	pService->start();
	logStarted(*pService, settings);
	std::unique_ptr<PortsFile> pPortsFile; // removed when serve() returns
	try
	{
		if (!_invocation.portsFile.empty())
			pPortsFile = std::make_unique<PortsFile>(_invocation.portsFile, pService->proxyAddress(),
				pService->adminAddress() ? pService->adminAddress()->toString() : std::string());
	}
	catch (const Poco::Exception& error)
	{
		_logger.fatal("❌ 无法写入端口文件 (--ports-file): " + error.displayText());
		return EXIT_CANTCREAT;
	}

	int signal;
	while ((signal = waitForSignal(-1)) == SIGHUP)
		reload(*pService);
	drain(*pService, signal);
	pService->stop();
	_logger.information("👋 ForwardOptimal 已停止");
	return EXIT_OK;
}


void ForwardOptimalApp::logStarting(const Config::Settings& settings)
{
	_logger.information("\n" + Banner::render(BuildInfo::VERSION, BuildInfo::BUILD_DATE, BuildInfo::COMMIT, BuildInfo::AUTHOR));
	_logger.information("🚀 程序启动中...");
	_logger.information("📁 配置文件: " + settings.sourceFile);
	_logger.information("✅ 配置加载成功");
	_logger.information("🌐 监听地址: " + settings.bindAddr.toString());
	_logger.information("🎯 目标节点: " + joinTargets(settings));
	_logger.information("⏱️  检查间隔: " + formatSeconds(settings.updateInterval) + "秒 (故障时: "
		+ formatSeconds(settings.failureInterval) + "秒)");
	_logger.information("🔗 Proxy Protocol: " + proxyProtocolText(settings));
}


void ForwardOptimalApp::logStarted(const Service& service, const Config::Settings& settings)
{
	_logger.information("🎉 TCP转发服务器启动成功!");
	_logger.information("🔗 监听地址: " + service.proxyAddress().toString());
	_logger.information("🎯 目标节点数量: " + std::to_string(settings.targets.size()));
	if (std::optional<Poco::Net::SocketAddress> admin = service.adminAddress())
	{
		_logger.information("📊 管理接口: http://" + admin->toString() + " (状态页 /, /metrics /status /healthz /readyz)");
		if (!admin->host().isLoopback())
			_logger.warning("⚠️  管理接口监听在非回环地址 " + admin->toString()
				+ " (adminAddr): 任何能连到它的人都能读取状态和指标");
	}
	else if (!service.adminUnavailable().empty())
	{
		const std::string& reason = service.adminUnavailable();
		_logger.warning("⚠️  管理接口默认地址 " + settings.adminAddr.toString()
			+ (reason.find("in use") != std::string::npos ? " 已被占用" : " 无法监听 (" + reason + ")")
			+ ", 管理接口未启动 (设置 adminAddr 指定其他地址, 或 \"\" 关闭)");
	}
}


void ForwardOptimalApp::reload(Service& service)
{
	_logger.information("🔄 收到 SIGHUP, 重新加载配置: " + _invocation.configPath);
	Config::LoadResult loaded;
	try
	{
		loaded = Config::SettingsLoader::loadFile(_invocation.configPath, _invocation.overrides);
		installLogging(loaded);
	}
	catch (const Config::ConfigException& error)
	{
		_logger.error("❌ 重新加载失败, 继续使用原来的配置: " + error.message());
		return;
	}
	for (const auto& warning : loaded.warnings)
		_logger.warning("⚠️  " + warning);
	logRestartOnlyChanges(*_loaded.settings, *loaded.settings);

	service.reload(loaded.settings);
	const Config::Settings& next = *loaded.settings;
	_logger.information("✅ 配置已重新加载: 目标节点 " + joinTargets(next) + ", 检查间隔 " + formatSeconds(next.updateInterval)
		+ "秒 (故障时: " + formatSeconds(next.failureInterval) + "秒), Proxy Protocol: " + proxyProtocolText(next)
		+ "; 进行中的会话不受影响");
}


void ForwardOptimalApp::logRestartOnlyChanges(const Config::Settings& running, const Config::Settings& next)
{
	// Restart-only keys shape the listening sockets and the thread pool, which live as long as the process.
	for (const auto& change : Config::restartOnlyChanges(running, next))
		_logger.warning("⚠️  " + change.key + " 从 " + change.running + " 改为 " + change.wanted
			+ " 需要重启才能生效; 目前仍为 " + change.running);
}


void ForwardOptimalApp::drain(Service& service, int signal)
{
	std::chrono::milliseconds timeout = service.settings()->drainTimeout;
	service.stopAccepting();
	_logger.information("🛑 收到信号 " + signalName(signal) + ", 不再接受新连接; 等待 " + std::to_string(service.activeSessions())
		+ " 个会话结束 (最多 " + formatSeconds(timeout) + " 秒, 再次发送信号立即退出)");
	std::int64_t left = service.drain(timeout, [&](std::chrono::milliseconds step) {
		int again = waitForSignal(static_cast<int>(step.count()));
		if (again == 0 || again == SIGHUP)
			return false; // no reloading while stopping
		_logger.warning("⏩ 再次收到信号 " + signalName(again) + ": 立即关闭剩余 "
			+ std::to_string(service.activeSessions()) + " 个会话");
		return true;
	});
	if (left > 0)
		_logger.warning("⏱️ 关闭仍在进行的 " + std::to_string(left) + " 个会话");
	else
		_logger.information("✅ 所有会话已结束");
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
