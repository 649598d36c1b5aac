// A user-space delay line between two TUN devices in two network namespaces: the kernel here
// has no netem, and the end-to-end tests need real path latency (and blackholes).
//
//   fo_delay_line --ns-a NS --tun-a IF --ns-b NS --tun-b IF --control FILE
//
// NS is a name under /var/run/netns, or "." for the namespace the line runs in (the demo joins
// the host's own namespace to its backends' namespace this way).
//
// Packets read from one TUN are written to the other after a delay chosen by IPv4 address: the
// control file holds lines "IP MS" (one-way delay in milliseconds) or "IP drop"; a packet whose
// source or destination matches a rule gets it, others pass at once (IPv6 too). The file is
// re-read whenever it changes, so a test changes delays by rewriting it. Packets are never
// reordered within a flow (one direction, one rule address). Prints "delay_line: ready" once both TUNs are attached; exits 0
// on SIGTERM/SIGINT.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t MAX_QUEUED = 10000;  // per direction; beyond that packets are dropped
constexpr double DROP = -1.0;

[[noreturn]] void die(const std::string& message)
{
	std::cerr << "delay_line: " << message << ": " << std::strerror(errno) << std::endl;
	std::exit(1);
}

// Opens /dev/net/tun in the current namespace and attaches to the existing device there.
int openTun(const std::string& ns, const std::string& device)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open /dev/net/tun");
	ifreq request{};
	request.ifr_flags = IFF_TUN | IFF_NO_PI;
	std::strncpy(request.ifr_name, device.c_str(), IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &request) != 0)
		die("attach to tun device '" + device + "' in '" + ns + "'");
	return fd;
}

// Opens /dev/net/tun inside the named namespace ("." = this one) and attaches to the existing
// device there.
int attachTun(const std::string& ns, const std::string& device)
{
	if (ns == ".")
		return openTun(ns, device);
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int target = open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
	if (self < 0 || target < 0)
		die("cannot open network namespace '" + ns + "'");
	if (setns(target, CLONE_NEWNET) != 0)
		die("setns into '" + ns + "'");
	int fd = openTun(ns, device);
	if (setns(self, CLONE_NEWNET) != 0)
		die("setns back");
	close(self);
	close(target);
	return fd;
}

class Rules
{
public:
	explicit Rules(std::string path): _path(std::move(path)) {}

	// Re-reads the file if its modification time or size changed.
	void refresh()
	{
		struct stat info{};
		if (stat(_path.c_str(), &info) != 0)
			return;
		auto stamp = std::make_pair(info.st_mtim.tv_sec * 1000000000LL + info.st_mtim.tv_nsec, static_cast<long long>(info.st_size));
		if (stamp == _stamp)
			return;
		_stamp = stamp;
		std::map<std::uint32_t, double> rules;
		std::ifstream in(_path);
		std::string line;
		for (int number = 1; std::getline(in, line); ++number)
		{
			line = line.substr(0, line.find('#'));
			std::istringstream words(line);
			std::string ip, value;
			if (!(words >> ip))
				continue;
			in_addr address{};
			double ms = 0;
			bool valid = (words >> value) && inet_pton(AF_INET, ip.c_str(), &address) == 1;
			if (valid && value != "drop")
			{
				try { ms = std::stod(value); } catch (...) { valid = false; }
				valid = valid && ms >= 0;
			}
			if (!valid)
			{
				std::cerr << "delay_line: " << _path << ":" << number << ": expected 'IP MS' or 'IP drop', ignored" << std::endl;
				continue;
			}
			rules[address.s_addr] = value == "drop" ? DROP : ms;
		}
		std::lock_guard<std::mutex> lock(_mutex);
		_rules.swap(rules);
	}

	// The one-way delay for a packet in ms (or DROP), and the address whose rule gave it
	// (0 when none did): packets of one address keep their order.
	std::pair<double, std::uint32_t> delayFor(const unsigned char* packet, std::size_t length) const
	{
		if (length < 20 || (packet[0] >> 4) != 4)
			return {0, 0};
		std::uint32_t source, destination;
		std::memcpy(&source, packet + 12, 4);
		std::memcpy(&destination, packet + 16, 4);
		std::lock_guard<std::mutex> lock(_mutex);
		for (std::uint32_t address : {destination, source})
		{
			auto it = _rules.find(address);
			if (it != _rules.end())
				return {it->second, address};
		}
		return {0, 0};
	}

private:
	std::string _path;
	std::pair<long long, long long> _stamp{-1, -1};
	mutable std::mutex _mutex;
	std::map<std::uint32_t, double> _rules;
};

// One direction: a reader files packets by due time, a writer sends them when due. Flows with
// different delays overtake each other, as on different paths; within a flow the order holds.
class Direction
{
public:
	Direction(int from, int to, const Rules& rules): _from(from), _to(to), _rules(rules) {}

	void start()
	{
		std::thread([this] { readLoop(); }).detach();
		std::thread([this] { writeLoop(); }).detach();
	}

private:

	void readLoop()
	{
		std::vector<unsigned char> buffer(65536);
		for (;;)
		{
			ssize_t n = read(_from, buffer.data(), buffer.size());
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				die("read from tun");
			auto [delay, flow] = _rules.delayFor(buffer.data(), static_cast<std::size_t>(n));
			if (delay == DROP)
				continue;
			std::lock_guard<std::mutex> lock(_mutex);
			if (_queue.size() >= MAX_QUEUED)
				continue;
			auto due = Clock::now() + std::chrono::microseconds(static_cast<long long>(delay * 1000));
			Clock::time_point& last = _lastDue[flow];
			if (due < last)
				due = last; // a shorter delay just set must not let a packet overtake its flow
			last = due;
			// multimap keeps equal keys in insertion order.
			_queue.emplace(due, std::vector<unsigned char>(buffer.begin(), buffer.begin() + n));
			_wake.notify_one();
		}
	}

	void writeLoop()
	{
		std::unique_lock<std::mutex> lock(_mutex);
		for (;;)
		{
			_wake.wait(lock, [this] { return !_queue.empty(); });
			auto due = _queue.begin()->first;
			if (Clock::now() < due)
			{
				_wake.wait_until(lock, due);
				continue;
			}
			std::vector<unsigned char> packet = std::move(_queue.begin()->second);
			_queue.erase(_queue.begin());
			lock.unlock();
			if (write(_to, packet.data(), packet.size()) < 0)
			{
				// A full or down interface drops the packet, as a real link would.
			}
			lock.lock();
		}
	}

	int _from;
	int _to;
	const Rules& _rules;
	std::mutex _mutex;
	std::condition_variable _wake;
	std::multimap<Clock::time_point, std::vector<unsigned char>> _queue;
	std::map<std::uint32_t, Clock::time_point> _lastDue;
};

} // namespace


int main(int argc, char** argv)
{
	std::map<std::string, std::string> options;
	for (int i = 1; i + 1 < argc; i += 2)
		options[argv[i]] = argv[i + 1];
	for (const char* required : {"--ns-a", "--tun-a", "--ns-b", "--tun-b", "--control"})
	{
		if (!options.count(required))
		{
			std::cerr << "usage: fo_delay_line --ns-a NS --tun-a IF --ns-b NS --tun-b IF --control FILE" << std::endl;
			return 64;
		}
	}

	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, nullptr);

	int a = attachTun(options["--ns-a"], options["--tun-a"]);
	int b = attachTun(options["--ns-b"], options["--tun-b"]);
	Rules rules(options["--control"]);
	rules.refresh();
	Direction forward(a, b, rules);
	Direction backward(b, a, rules);
	forward.start();
	backward.start();
	std::thread([&rules] {
		for (;;)
		{
			std::this_thread::sleep_for(std::chrono::milliseconds(50));
			rules.refresh();
		}
	}).detach();
	std::cout << "delay_line: ready" << std::endl;

	for (;;)
	{
		int signal = 0;
		sigwait(&signals, &signal);
		if (signal != SIGHUP)
			break;
		rules.refresh();
	}
	std::cout.flush();
	_exit(0); // the packet threads sit in blocking reads; nothing of theirs needs saving
}
