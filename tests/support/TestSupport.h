#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace ForwardOptimal {
namespace Test {

using namespace std::chrono_literals;

/// For BOOST_TEST_GLOBAL_FIXTURE in suites that run the Relay in this process: as the
/// application does, SIGPIPE is ignored (splice() to a peer that has gone raises it; Relay.h).
struct IgnoreSigpipe
{
	IgnoreSigpipe();
};

bool waitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout);
	/// Polls `predicate` every 10 ms until it holds or `timeout` passes. Returns its last value.

std::string binaryPath();
	/// The ForwardOptimal executable under test (environment FO_BINARY, set by CTest).

/// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir
{
public:
	TempDir();
	~TempDir();
	TempDir(const TempDir&) = delete;
	TempDir& operator=(const TempDir&) = delete;

	const std::string& path() const { return _path; }
	std::string write(const std::string& name, const std::string& content) const;
		/// Writes a file in the directory and returns its absolute path.

private:
	std::string _path;
};

/// A child process with its stdout and stderr captured by reader threads. The destructor
/// kills (SIGKILL) and reaps it if it is still running, so a failing test leaves nothing behind.
class ChildProcess
{
public:
	ChildProcess(const std::vector<std::string>& argv, const std::string& workingDir = std::string(), int inheritedFd = -1);
		/// With `inheritedFd`, the child gets that descriptor (a socket the test bound to port 0)
		/// as its descriptor 3 and nothing else of the test's.
	~ChildProcess();
	ChildProcess(const ChildProcess&) = delete;
	ChildProcess& operator=(const ChildProcess&) = delete;

	pid_t pid() const { return _pid; }
	std::string out() const;
	std::string err() const;
	std::string all() const { return out() + err(); }

	bool waitForOutput(const std::string& text, std::chrono::milliseconds timeout) const;
		/// Waits until stdout or stderr contains `text`.

	std::optional<int> waitExit(std::chrono::milliseconds timeout);
		/// The exit code once the process has exited (128 + signal if killed), or nothing on timeout.

	void signal(int number) const;

	static int run(const std::vector<std::string>& argv, std::string& out, std::string& err,
		std::chrono::milliseconds timeout = 30s);
		/// Runs to completion; returns the exit code (-1 if it had to be killed on timeout).

private:
	void reader(int fd, std::string& sink);

	pid_t _pid = -1;
	std::optional<int> _exitCode;
	mutable std::mutex _mutex;
	std::string _out;
	std::string _err;
	std::thread _outReader;
	std::thread _errReader;
};

std::string requiredEnv(const char* name);
	///< The value of environment variable `name`; throws std::runtime_error naming it when unset
	///< or empty (the test was not started through ctest).

int runCapturing(const std::vector<std::string>& args, std::string& output);
	///< Runs `args` to completion (60 s at most): its exit code; stdout then stderr in `output`.

void rewriteInPlace(const std::string& path, const std::string& content);
	///< Replaces a file's content keeping its inode, so a bind mount of it (a network namespace's
	///< /etc/netns/NAME/hosts) sees the change; a rename() would not be seen.

std::string randomBytes(std::size_t size, unsigned seed);
	///< `size` pseudo-random bytes, the same for the same seed (payloads to check byte for byte).

int openFdCount();
	/// Descriptors this (test) process holds, from /proc/self/fd.

int threadCount();
	/// Threads of this (test) process, from /proc/self/task.

int openFdCount(pid_t pid);
	/// Descriptors another process holds, from /proc/PID/fd (-1 if it is gone).

int threadCount(pid_t pid);
	/// Threads of another process, from the Threads line of /proc/PID/status (-1 if it is gone).

long residentKiB(pid_t pid);
	/// VmRSS of a process in KiB, from /proc/PID/status (-1 if it is gone).

double cpuSeconds(pid_t pid);
	/// CPU time the process has used so far, user plus system, from /proc/PID/stat (-1 if it is gone).

} } // namespace ForwardOptimal::Test
