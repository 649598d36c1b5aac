#include "TestSupport.h"

#include <random>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <sstream>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace ForwardOptimal {
namespace Test {

IgnoreSigpipe::IgnoreSigpipe()
{
	std::signal(SIGPIPE, SIG_IGN);
}


bool waitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout)
{
	auto deadline = std::chrono::steady_clock::now() + timeout;
	while (!predicate())
	{
		if (std::chrono::steady_clock::now() >= deadline)
			return predicate();
		std::this_thread::sleep_for(10ms);
	}
	return true;
}


std::string binaryPath()
{
	const char* path = std::getenv("FO_BINARY");
	if (!path || !*path)
		throw std::runtime_error("FO_BINARY is not set: run the test through ctest, or export FO_BINARY=/path/to/ForwardOptimal");
	return path;
}


TempDir::TempDir()
{
	char pattern[] = "/tmp/fo-test-XXXXXX";
	if (!mkdtemp(pattern))
		throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
	_path = pattern;
}


TempDir::~TempDir()
{
	std::string command = "rm -rf '" + _path + "'";
	if (std::system(command.c_str()) != 0)
	{
		// Nothing sensible to do in a destructor; the directory is under /tmp.
	}
}


std::string TempDir::write(const std::string& name, const std::string& content) const
{
	std::string file = _path + "/" + name;
	std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
	return file;
}


ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& workingDir, int inheritedFd)
{
	int outPipe[2];
	int errPipe[2];
	if (pipe2(outPipe, O_CLOEXEC) != 0 || pipe2(errPipe, O_CLOEXEC) != 0)
		throw std::runtime_error("pipe failed");

	posix_spawn_file_actions_t actions;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1);
	posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2);
	posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
	// Nothing else of the test process may leak into the child: an inherited listening socket
	// would keep a "stopped" test backend reachable for as long as the child runs. (dup2 onto
	// itself clears close-on-exec, as POSIX asks of posix_spawn_file_actions_adddup2.)
	if (inheritedFd >= 0)
		posix_spawn_file_actions_adddup2(&actions, inheritedFd, 3);
	posix_spawn_file_actions_addclosefrom_np(&actions, inheritedFd >= 0 ? 4 : 3);
	if (!workingDir.empty())
		posix_spawn_file_actions_addchdir_np(&actions, workingDir.c_str());

	// The child must start with default signal handling and an empty mask, whatever the
	// test runner has set up.
	posix_spawnattr_t attributes;
	posix_spawnattr_init(&attributes);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attributes, &none);
	posix_spawnattr_setsigdefault(&attributes, &all);
	posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

	std::vector<char*> args;
	for (const auto& arg : argv)
		args.push_back(const_cast<char*>(arg.c_str()));
	args.push_back(nullptr);
	int rc = posix_spawn(&_pid, args[0], &actions, &attributes, args.data(), environ);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attributes);
	close(outPipe[1]);
	close(errPipe[1]);
	if (rc != 0)
	{
		close(outPipe[0]);
		close(errPipe[0]);
		throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
	}
	_outReader = std::thread([this, fd = outPipe[0]] { reader(fd, _out); });
	_errReader = std::thread([this, fd = errPipe[0]] { reader(fd, _err); });
}


ChildProcess::~ChildProcess()
{
	if (!_exitCode)
	{
		::kill(_pid, SIGKILL);
		waitExit(10s);
	}
	if (_outReader.joinable()) _outReader.join();
	if (_errReader.joinable()) _errReader.join();
}


void ChildProcess::reader(int fd, std::string& sink)
{
	char buffer[4096];
	for (;;)
	{
		ssize_t n = ::read(fd, buffer, sizeof buffer);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		std::lock_guard<std::mutex> lock(_mutex);
		sink.append(buffer, static_cast<std::size_t>(n));
	}
	close(fd);
}


std::string ChildProcess::out() const
{
	std::lock_guard<std::mutex> lock(_mutex);
	return _out;
}


std::string ChildProcess::err() const
{
	std::lock_guard<std::mutex> lock(_mutex);
	return _err;
}


bool ChildProcess::waitForOutput(const std::string& text, std::chrono::milliseconds timeout) const
{
	return waitFor([&] { return all().find(text) != std::string::npos; }, timeout);
}


std::optional<int> ChildProcess::waitExit(std::chrono::milliseconds timeout)
{
	if (_exitCode)
		return _exitCode;
	waitFor([&] {
		int status = 0;
		pid_t done = ::waitpid(_pid, &status, WNOHANG);
		if (done == _pid)
			_exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		return _exitCode.has_value();
	}, timeout);
	if (_exitCode)
	{
		// The pipes close when the process (and any child it forked) exits.
		if (_outReader.joinable()) _outReader.join();
		if (_errReader.joinable()) _errReader.join();
	}
	return _exitCode;
}


void ChildProcess::signal(int number) const
{
	::kill(_pid, number);
}


int ChildProcess::run(const std::vector<std::string>& argv, std::string& out, std::string& err, std::chrono::milliseconds timeout)
{
	ChildProcess child(argv);
	std::optional<int> code = child.waitExit(timeout);
	out = child.out();
	err = child.err();
	return code ? *code : -1;
}


namespace {

// The number after `key` in /proc/PID/status, or -1.
long statusValue(pid_t pid, const std::string& key)
{
	std::ifstream in("/proc/" + std::to_string(pid) + "/status");
	for (std::string line; std::getline(in, line);)
		if (line.compare(0, key.size(), key) == 0)
			return std::stol(line.substr(key.size()));
	return -1;
}

int countEntries(const char* path)
{
	int count = 0;
	if (DIR* dir = opendir(path))
	{
		while (dirent* entry = readdir(dir))
			count += entry->d_name[0] != '.';
		closedir(dir);
	}
	return count;
}

} // namespace


int openFdCount()
{
	return countEntries("/proc/self/fd") - 1; // less the descriptor of the listing itself
}


int threadCount()
{
	return countEntries("/proc/self/task");
}


int openFdCount(pid_t pid)
{
	std::string path = "/proc/" + std::to_string(pid) + "/fd";
	if (::access(path.c_str(), F_OK) != 0)
		return -1;
	return countEntries(path.c_str());
}


int threadCount(pid_t pid)
{
	return static_cast<int>(statusValue(pid, "Threads:"));
}


long residentKiB(pid_t pid)
{
	return statusValue(pid, "VmRSS:");
}


double cpuSeconds(pid_t pid)
{
	std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
	std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
	std::size_t end = stat.rfind(')'); // the command name may hold spaces and parentheses
	if (end == std::string::npos)
		return -1;
	std::istringstream fields(stat.substr(end + 2));
	std::string field;
	unsigned long long utime = 0, stime = 0;
	// After the name: state is field 3, utime field 14 and stime field 15 of proc(5).
	for (int number = 3; number <= 15 && fields >> field; ++number)
	{
		if (number == 14)
			utime = std::stoull(field);
		else if (number == 15)
			stime = std::stoull(field);
	}
	return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::string randomBytes(std::size_t size, unsigned seed)
{
	std::mt19937 generator(seed);
	std::string data(size, '\0');
	for (auto& byte : data)
		byte = static_cast<char>(generator());
	return data;
}

std::string requiredEnv(const char* name)
{
	const char* value = std::getenv(name);
	if (!value || !*value)
		throw std::runtime_error(std::string(name) + " is not set: run this test through ctest");
	return value;
}

int runCapturing(const std::vector<std::string>& args, std::string& output)
{
	std::string err;
	int code = ChildProcess::run(args, output, err, std::chrono::seconds(60));
	output += err;
	return code;
}

void rewriteInPlace(const std::string& path, const std::string& content)
{
	std::ofstream(path, std::ios::trunc) << content;
}

} } // namespace ForwardOptimal::Test
