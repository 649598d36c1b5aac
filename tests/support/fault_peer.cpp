// The other end of ForwardOptimal in the fault-injection tests: a real process, so that it can
// die, reset, stall or flood for real.
//
//   fo_fault_peer serve HOST:PORT
//       A TCP server: each connection first sends a line "MODE NAME [ARG]" from its client, prints "session NAME PID", then
//         echo   NAME        echoes everything; at the client's FIN it sends FIN too
//         reset  NAME BYTES  echoes until BYTES have come in, then resets (SO_LINGER 0)
//         stall  NAME        never reads again; notices when the connection is closed
//         flood  NAME        sends the test pattern as fast as it is taken, never reads
//       and at the end prints "end NAME in=N out=M intact=0|1 how=TEXT" (intact: all that came
//       in was the test pattern, Pattern.h). Connections that send no line (health probes, the
//       proxy's pre-connected sockets) just wait for one.
//       The server process holds each connection until its line is complete, then forks a
//       process for the session (a new process per session, as inetd or sshd).
//       SIGUSR1 stops the service as a server restart does: the listener closes (connects are
//       refused) and so does every connection still waiting for its line, before it prints
//       "stopped G"; sessions that are running go on. SIGUSR2 listens again on the same port:
//       "started G". Session processes die with the server (PR_SET_PDEATHSIG): killing it
//       cleans up everything.
//
//   fo_fault_peer client HOST:PORT NAME
//       Connects, sends "echo NAME", prints "connected", then sends the test pattern as fast as
//       it is taken (printing "sent 1 MiB" on the way) and never reads: killed with SIGKILL, it leaves unread data behind, so the
//       kernel resets the connection instead of closing it (a client that vanishes without FIN).
//
// Loopback only; plain POSIX, so that nothing but the system sits between the test and the wire.
#include "Pattern.h"
#include "RawSend.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

using ForwardOptimal::Test::fillPattern;
using ForwardOptimal::Test::matchesPattern;
using ForwardOptimal::Test::sendAll;

namespace {

void say(const std::string& line)
{
	std::string text = line + "\n";
	// One write per line: lines of the server and its connection processes never interleave.
	if (::write(1, text.data(), text.size()) < 0)
		_exit(1);
}

sockaddr_in parseAddress(const std::string& text)
{
	sockaddr_in address{};
	address.sin_family = AF_INET;
	std::size_t colon = text.rfind(':');
	if (colon == std::string::npos || ::inet_pton(AF_INET, text.substr(0, colon).c_str(), &address.sin_addr) != 1)
	{
		std::fprintf(stderr, "not an IPv4 HOST:PORT: %s\n", text.c_str());
		std::exit(64);
	}
	address.sin_port = htons(static_cast<std::uint16_t>(std::stoi(text.substr(colon + 1))));
	return address;
}

struct Totals
{
	std::uint64_t in = 0;
	std::uint64_t out = 0;
	bool intact = true;
};

void report(const std::string& name, const Totals& totals, const std::string& how)
{
	say("end " + name + " in=" + std::to_string(totals.in) + " out=" + std::to_string(totals.out)
		+ " intact=" + (totals.intact ? "1" : "0") + " how=" + how);
}

void echo(int fd, const std::string& name, std::string pending, std::uint64_t resetAfter)
{
	Totals totals;
	char buffer[65536];
	std::string how;
	for (;;)
	{
		ssize_t n;
		if (!pending.empty())
		{
			n = static_cast<ssize_t>(pending.size());
			std::memcpy(buffer, pending.data(), pending.size());
			pending.clear();
		}
		else
			n = ::recv(fd, buffer, sizeof buffer, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
		{
			::shutdown(fd, SHUT_WR);
			how = "eof";
			break;
		}
		if (n < 0)
		{
			how = std::strerror(errno);
			break;
		}
		totals.intact = totals.intact && matchesPattern(buffer, static_cast<std::size_t>(n), totals.in);
		totals.in += static_cast<std::uint64_t>(n);
		if (!sendAll(fd, buffer, static_cast<std::size_t>(n)))
		{
			how = std::string("write: ") + std::strerror(errno);
			break;
		}
		totals.out += static_cast<std::uint64_t>(n);
		if (resetAfter > 0 && totals.in >= resetAfter)
		{
			linger reset{1, 0};
			::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
			how = "reset-sent";
			break;
		}
	}
	report(name, totals, how);
}

void flood(int fd, const std::string& name)
{
	Totals totals;
	char buffer[65536];
	std::string how;
	for (;;)
	{
		fillPattern(buffer, sizeof buffer, totals.out);
		if (!sendAll(fd, buffer, sizeof buffer))
		{
			how = std::string("write: ") + std::strerror(errno);
			break;
		}
		totals.out += sizeof buffer;
	}
	report(name, totals, how);
}

void stall(int fd, const std::string& name)
{
	// Only a close or an error wakes this up: the data keeps piling up unread.
	pollfd entry{fd, POLLRDHUP, 0};
	while (::poll(&entry, 1, -1) < 0 && errno == EINTR)
	{
	}
	report(name, Totals{}, entry.revents & POLLRDHUP ? "closed" : "hangup");
}

// One connection that has sent its line, in its own process from here on.
[[noreturn]] void runSession(int fd, std::string line)
{
	std::size_t newline = line.find('\n');
	std::string rest = line.substr(newline + 1);
	line.resize(newline);
	char mode[32] = {0};
	char name[128] = {0};
	unsigned long long argument = 0;
	if (std::sscanf(line.c_str(), "%31s %127s %llu", mode, name, &argument) < 2)
		_exit(2);
	say(std::string("session ") + name + " " + std::to_string(::getpid()));
	std::string m = mode;
	if (m == "echo")
		echo(fd, name, rest, 0);
	else if (m == "reset")
		echo(fd, name, rest, argument);
	else if (m == "stall")
		stall(fd, name);
	else if (m == "flood")
		flood(fd, name);
	else
		report(name, Totals{}, "unknown-mode");
	_exit(0);
}

int listenOn(const sockaddr_in& address)
{
	int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 1024) != 0)
	{
		::close(fd);
		return -1;
	}
	return fd;
}

// A connection that has not sent its whole first line yet: the server process holds it, so
// that a stop can close every such connection itself, before it says "stopped".
struct Waiting
{
	int fd;
	std::string line;
};

int serve(const std::string& where)
{
	sockaddr_in address = parseAddress(where);
	sigset_t control;
	sigemptyset(&control);
	sigaddset(&control, SIGUSR1);
	sigaddset(&control, SIGUSR2);
	sigprocmask(SIG_BLOCK, &control, nullptr);
	int signals = ::signalfd(-1, &control, SFD_CLOEXEC);
	std::signal(SIGCHLD, SIG_IGN); // session processes are reaped by the kernel
	std::signal(SIGPIPE, SIG_IGN);

	int listener = listenOn(address);
	if (listener < 0)
	{
		std::fprintf(stderr, "cannot listen on %s: %s\n", where.c_str(), std::strerror(errno));
		return 69;
	}
	socklen_t length = sizeof address;
	::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length); // the real port
	char host[INET_ADDRSTRLEN];
	::inet_ntop(AF_INET, &address.sin_addr, host, sizeof host);
	say(std::string("listening ") + host + ":" + std::to_string(ntohs(address.sin_port)));

	std::vector<Waiting> waiting;
	int stops = 0;
	pid_t server = ::getpid();
	for (;;)
	{
		std::vector<pollfd> entries{{signals, POLLIN, 0}, {listener, POLLIN, 0}};
		for (const auto& w : waiting)
			entries.push_back({w.fd, POLLIN, 0});
		if (::poll(entries.data(), entries.size(), -1) < 0)
		{
			if (errno == EINTR)
				continue;
			return 70;
		}
		if (entries[0].revents)
		{
			signalfd_siginfo info;
			if (::read(signals, &info, sizeof info) != sizeof info)
				continue;
			if (info.ssi_signo == SIGUSR1 && listener >= 0)
			{
				::close(listener);
				listener = -1;
				for (const auto& w : waiting)
					::close(w.fd);
				waiting.clear();
				say("stopped " + std::to_string(++stops));
			}
			else if (info.ssi_signo == SIGUSR2 && listener < 0)
			{
				while ((listener = listenOn(address)) < 0)
					::usleep(10000);
				say("started " + std::to_string(stops));
			}
			continue;
		}
		// Lines first (the vector changes below), from the back so that erasing is safe.
		for (std::size_t i = entries.size(); i-- > 2;)
		{
			if (!entries[i].revents)
				continue;
			Waiting& w = waiting[i - 2];
			char buffer[4096];
			ssize_t n = ::recv(w.fd, buffer, sizeof buffer, 0);
			if (n > 0)
				w.line.append(buffer, static_cast<std::size_t>(n));
			bool complete = w.line.find('\n') != std::string::npos;
			if (complete)
			{
				pid_t child = ::fork();
				if (child == 0)
				{
					::prctl(PR_SET_PDEATHSIG, SIGKILL);
					if (::getppid() != server)
						_exit(0);
					int fd = w.fd;
					std::string line = w.line;
					for (const auto& other : waiting)
						if (other.fd != fd)
							::close(other.fd);
					if (listener >= 0)
						::close(listener);
					::close(signals);
					sigprocmask(SIG_UNBLOCK, &control, nullptr);
					runSession(fd, line);
				}
			}
			if (complete || n <= 0 || w.line.size() > 256)
			{
				// Handed to its process, or a health probe that closed, or garbage.
				::close(w.fd);
				waiting.erase(waiting.begin() + static_cast<std::ptrdiff_t>(i - 2));
			}
		}
		if (listener >= 0 && (entries[1].revents & POLLIN))
		{
			int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
			if (fd >= 0)
				waiting.push_back({fd, std::string()});
		}
	}
}

int client(const std::string& where, const std::string& name)
{
	std::signal(SIGPIPE, SIG_IGN);
	sockaddr_in address = parseAddress(where);
	int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
	{
		std::fprintf(stderr, "cannot connect to %s: %s\n", where.c_str(), std::strerror(errno));
		return 69;
	}
	std::string tag = "echo " + name + "\n";
	if (!sendAll(fd, tag.data(), tag.size()))
		return 1;
	say("connected");
	char buffer[65536];
	for (std::uint64_t sent = 0;; sent += sizeof buffer)
	{
		if (sent == 1024 * 1024)
			say("sent 1 MiB");
		fillPattern(buffer, sizeof buffer, sent);
		if (!sendAll(fd, buffer, sizeof buffer))
			return 1;
	}
}

} // namespace


int main(int argc, char** argv)
{
	std::string mode = argc > 1 ? argv[1] : "";
	if (mode == "serve" && argc == 3)
		return serve(argv[2]);
	if (mode == "client" && argc == 4)
		return client(argv[2], argv[3]);
	std::fprintf(stderr, "usage: fo_fault_peer serve HOST:PORT | client HOST:PORT NAME\n");
	return 64;
}
