#include "app/CommandLine.h"

#include "BuildInfo.h"

#include "Poco/Path.h"
#include "Poco/String.h"
#include "Poco/Util/Option.h"
#include "Poco/Util/OptionException.h"
#include "Poco/Util/OptionProcessor.h"

namespace ForwardOptimal {
namespace App {

namespace {

using Poco::Util::Option;
using Action = Invocation::Action;

// One option, as OptionProcessor has read it, into the invocation.
void record(Invocation& invocation, const Option& option, const std::string& value)
{
	const std::string& name = option.fullName();
	bool endsAtOnce = invocation.action != Action::SERVE && invocation.action != Action::CHECK;
	if (name == "help" || name == "version" || name == "health-check")
	{
		if (endsAtOnce)
			return; // the first of them wins
		invocation.action = name == "help" ? Action::HELP : name == "version" ? Action::VERSION : Action::HEALTH_CHECK;
		if (name == "health-check")
			invocation.healthCheckUrl = value;
	}
	else if (name == "check")
	{
		if (invocation.action == Action::SERVE)
			invocation.action = Action::CHECK;
	}
	else if (name == "config")
		invocation.configPath = Poco::Path(value).absolute().toString();
	else if (name == "define")
		invocation.overrides.push_back(CommandLine::splitDefine(value));
	else if (name == "ports-file")
		invocation.portsFile = Poco::Path(value).absolute().toString();
	else
	{
		// ServerApplication's own (daemon, pidfile, umask): POCO's run() handles them itself.
		invocation.daemon |= name == "daemon";
		invocation.serverArguments.push_back("--" + name + (option.takesArgument() ? "=" + value : std::string()));
	}
}

} // namespace


void CommandLine::defineOptions(Poco::Util::OptionSet& options)
{
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
	options.addOption(Option("ports-file", "", "write the listen and admin addresses to the file (JSON) once listening")
		.required(false).repeatable(false).argument("file"));
}


Invocation CommandLine::parse(const std::vector<std::string>& args, const Poco::Util::OptionSet& options)
{
	Invocation invocation;
	invocation.configPath = Poco::Path(DEFAULT_CONFIG).absolute().toString();
	Poco::Util::OptionProcessor processor(options);
	processor.setUnixStyle(true);
	for (std::size_t i = 1; i < args.size(); ++i)
	{
		std::string name, value;
		if (!processor.process(args[i], name, value))
			throw Poco::Util::UnexpectedArgumentException("'" + args[i] + "' (options start with '-')");
		if (!name.empty()) // empty: "-c" whose value is the next argument, or "--"
			record(invocation, options.getOption(name), value);
	}
	processor.checkRequired(); // an option still waiting for its argument
	return invocation;
}

std::vector<std::string> CommandLine::normalize(int argc, char** argv)
{
	std::vector<std::string> args;
	for (int i = 0; i < argc; ++i)
	{
		std::string arg(argv[i]);
		if (i > 0 && (arg == "-help" || arg == "-version"))
			arg = "-" + arg;
		args.push_back(arg);
	}
	if (args.empty())
		args.push_back("ForwardOptimal"); // argc 0 is legal for execve(); argv[0] is read later
	return args;
}


std::pair<std::string, std::string> CommandLine::splitDefine(const std::string& argument)
{
	std::size_t equals = argument.find('=');
	if (equals == std::string::npos)
		throw Poco::Util::InvalidArgumentException("-D expects key=value, got '" + argument + "'");
	std::string key = Poco::trim(argument.substr(0, equals));
	if (key.empty())
		throw Poco::Util::InvalidArgumentException("-D expects key=value, the key is missing in '" + argument + "'");
	return {key, argument.substr(equals + 1)};
}


std::string CommandLine::usage(const std::string& command)
{
	const std::string self = "./" + command;
	return "ForwardOptimal - 智能负载均衡TCP转发服务 (forwards each client to the fastest healthy target)\n"
		"\n"
		"用法:\n"
		"  " + self + " [选项]\n"
		"\n"
		"选项:\n"
		"  -c <文件路径>, --config=<文件路径>\n"
		"                   指定配置文件路径 (默认: config.json)\n"
		"  -D key=value, --define=key=value\n"
		"                   覆盖配置项, 可重复 (例: -D updateInterval=30 -D proxyProtocol=v2)\n"
		"  -t, --check      检查配置文件并打印生效的配置, 然后退出\n"
		"  --health-check=<url>\n"
		"                   请求管理接口 (例: http://127.0.0.1:9090/healthz), 2xx 时退出码 0, 否则 1\n"
		"  -h, -help, --help\n"
		"                   显示此帮助信息\n"
		"  -v, -version, --version\n"
		"                   显示版本信息\n"
		"  --daemon         以守护进程方式在后台运行\n"
		"  --pidfile=<文件路径>\n"
		"                   把进程号写入文件 (退出时删除)\n"
		"  --umask=<mask>   守护进程的 umask (八进制, 例: 027)\n"
		"  --ports-file=<文件路径>\n"
		"                   开始监听后把实际的监听地址和管理接口地址写入文件 (JSON), 退出时删除\n"
		"                   (例: {\"listen\": \"127.0.0.1:40123\", \"admin\": \"127.0.0.1:40124\"}; 端口为 0 时有用)\n"
		"\n"
		"示例:\n"
		"  " + self + "                           # 使用默认配置文件 config.json\n"
		"  " + self + " -c /root/a.json          # 使用指定的配置文件\n"
		"  " + self + " -c ./configs/prod.json   # 使用相对路径配置文件\n"
		"  " + self + " -c a.json -t             # 只检查配置\n"
		"  " + self + " -c a.json -D proxyProtocol=v2 --daemon --pidfile=/run/fo.pid\n"
		"\n"
		"退出码: 0 正常, 64 命令行错误, 66 配置文件不存在或不可读, 69 无法监听 bindAddr,\n"
		"        70 内部错误, 73 无法写入 --ports-file, 78 配置无效\n";
}


std::string CommandLine::version()
{
	return std::string("ForwardOptimal v") + BuildInfo::VERSION + "\n"
		+ "构建日期: " + BuildInfo::BUILD_DATE + "\n"
		+ "提交: " + BuildInfo::COMMIT + "\n"
		+ "作者: " + BuildInfo::AUTHOR + "\n";
}

} } // namespace ForwardOptimal::App
