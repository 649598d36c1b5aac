#pragma once

#include "TestSupport.h"

#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

namespace ForwardOptimal {
namespace Test {

// The rest of the first whole line of `text` that starts with `prefix`, or nothing.
inline std::optional<std::string> lineAfter(const std::string& text, const std::string& prefix)
{
	for (std::size_t at = 0; at < text.size();)
	{
		std::size_t end = text.find('\n', at);
		if (end == std::string::npos)
			break; // a line still being written
		if (text.compare(at, prefix.size(), prefix) == 0)
			return text.substr(at + prefix.size(), end - at - prefix.size());
		at = end + 1;
	}
	return std::nullopt;
}

// fo_fault_peer (environment FO_FAULT_PEER, set by CTest).
inline std::string peerPath()
{
	const char* path = std::getenv("FO_FAULT_PEER");
	if (!path || !*path)
		throw std::runtime_error("FO_FAULT_PEER is not set: run the test through ctest");
	return path;
}

/// fo_fault_peer in its "serve" role: a forking upstream on a port of its own choosing (it
/// binds port 0 and says which) that the fault tests kill, reset, stall, flood or restart; it
/// reports each session's start and end on stdout, which sessionPid() and end() read.
class FaultPeer
{
public:
	struct End
	{
		std::uint64_t in = 0;
		std::uint64_t out = 0;
		bool intact = false;
		std::string how;
	};

	FaultPeer(): _process({peerPath(), "serve", "127.0.0.1:0"})
	{
		if (!_process.waitForOutput("listening ", 10s))
			throw std::runtime_error("fo_fault_peer did not start: " + _process.all());
		waitFor([&] { return lineAfter(_process.out(), "listening ").has_value(); }, 10s);
		_address = lineAfter(_process.out(), "listening ").value_or("");
	}

	const std::string& address() const { return _address; }
	std::string output() const { return _process.all(); }

	pid_t sessionPid(const std::string& name, std::chrono::milliseconds timeout) const
	{
		std::optional<std::string> pid;
		waitFor([&] { return (pid = lineAfter(_process.out(), "session " + name + " ")).has_value(); }, timeout);
		return pid ? static_cast<pid_t>(std::stol(*pid)) : -1;
	}

	std::optional<End> end(const std::string& name, std::chrono::milliseconds timeout) const
	{
		std::optional<std::string> line;
		if (!waitFor([&] { return (line = lineAfter(_process.out(), "end " + name + " ")).has_value(); }, timeout))
			return std::nullopt;
		// "in=N out=M intact=0|1 how=TEXT"
		End end;
		std::istringstream fields(*line);
		std::string in, out, intact;
		fields >> in >> out >> intact;
		end.in = std::stoull(in.substr(3));
		end.out = std::stoull(out.substr(4));
		end.intact = intact == "intact=1";
		std::size_t how = line->find(" how=");
		end.how = how == std::string::npos ? std::string() : line->substr(how + 5);
		return end;
	}

	// Stops as a server restart does: no listener, unused connections closed; sessions go on.
	void stop()
	{
		_process.signal(SIGUSR1);
		++_stops;
		if (!_process.waitForOutput("stopped " + std::to_string(_stops) + "\n", 10s))
			throw std::runtime_error("fo_fault_peer did not stop: " + _process.all());
	}

	void start()
	{
		_process.signal(SIGUSR2);
		if (!_process.waitForOutput("started " + std::to_string(_stops) + "\n", 10s))
			throw std::runtime_error("fo_fault_peer did not start again: " + _process.all());
	}

private:
	ChildProcess _process;
	std::string _address;
	int _stops = 0;
};


} } // namespace ForwardOptimal::Test
