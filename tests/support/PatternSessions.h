#pragma once

#include "RawClient.h"
#include "TestSupport.h"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

// Clients of the fault tests that run on their own threads through the proxy: a healthy
// session of verified round trips, and a stream of the pattern both ways at full speed.
namespace ForwardOptimal {
namespace Test {

// A session that keeps exchanging verified 4 KiB round trips through the proxy on its own
// thread, every 5 ms, until finish(). No Boost.Test macro runs on its thread.
class HealthySession
{
public:
	explicit HealthySession(const std::string& proxy):
		_client(proxy)
	{
		if (_client.connectError() != 0 || !_client.send("echo healthy\n"))
			throw std::runtime_error("healthy session: cannot send");
		_thread = std::thread([this] { loop(); });
	}

	~HealthySession() { stopThread(); }

	std::string problem() const
	{
		std::lock_guard<std::mutex> lock(_mutex);
		return _problem;
	}

	// True once `more` further round trips have been verified (false on any failure).
	bool progresses(int more = 5, std::chrono::milliseconds timeout = 30s) const
	{
		int from = _rounds;
		waitFor([&] { return _rounds >= from + more || !problem().empty(); }, timeout);
		return _rounds >= from + more && problem().empty();
	}

	int rounds() const { return _rounds; }

	// Stops, half-closes and expects the echo's FIN with nothing more; returns what was sent.
	std::uint64_t finish(std::string& problem)
	{
		stopThread();
		problem = this->problem();
		_client.shutdownSend();
		Outcome end = _client.expectEnd(20s);
		if (problem.empty() && end != Outcome::CLOSED)
			problem = std::string("expected a clean end after the half-close, got ") + toString(end);
		return _sent;
	}

private:
	void loop()
	{
		constexpr std::size_t SIZE = 4096;
		while (!_stop)
		{
			if (!_client.sendPattern(_sent, SIZE))
				return fail(std::string("send: ") + std::strerror(errno));
			std::string problem;
			if (!_client.expectPattern(_sent, SIZE, problem, 20s))
				return fail("round " + std::to_string(_rounds.load()) + ": " + problem);
			_sent += SIZE;
			++_rounds;
			std::this_thread::sleep_for(5ms);
		}
	}

	void fail(const std::string& problem)
	{
		std::lock_guard<std::mutex> lock(_mutex);
		_problem = problem;
	}

	void stopThread()
	{
		_stop = true;
		if (_thread.joinable())
			_thread.join();
	}

	RawClient _client;
	std::atomic<bool> _stop{false};
	std::atomic<int> _rounds{0};
	std::uint64_t _sent = 0;
	mutable std::mutex _mutex;
	std::string _problem;
	std::thread _thread;
};

// A client streaming the pattern both ways as fast as it goes, a writer and a reader thread,
// until the connection breaks (or the stream is destroyed). Records how far each got.
class Stream
{
public:
	Stream(const std::string& proxy, const std::string& line):
		_client(proxy)
	{
		if (_client.connectError() != 0 || !_client.send(line + "\n"))
			throw std::runtime_error("stream: cannot send its line");
		_writer = std::thread([this] { write(); });
		_reader = std::thread([this] { read(); });
	}

	~Stream()
	{
		_stop = true;
		::shutdown(_client.fd(), SHUT_RDWR); // wakes a blocked send or poll
		_writer.join();
		_reader.join();
	}

	std::uint64_t sent() const { return _sent; }
	std::uint64_t received() const { return _received; }
	bool intact() const { return _intact; }
	bool ended() const { return _ended; }            // the reader saw the end (or a stall)
	bool writerStopped() const { return _writerStopped; }
	Outcome end() const { return _end; }

private:
	void write()
	{
		std::string chunk(65536, '\0');
		while (!_stop)
		{
			fillPattern(chunk.data(), chunk.size(), _sent);
			if (!_client.send(chunk))
				break;
			_sent += chunk.size();
		}
		_writerStopped = true;
	}

	void read()
	{
		std::string buffer(65536, '\0');
		while (!_stop)
		{
			std::size_t got = 0;
			Outcome outcome = receiveSome(_client.fd(), buffer.data(), buffer.size(), 60s, got);
			if (outcome != Outcome::DATA)
			{
				_end = outcome;
				break;
			}
			_intact = _intact && matchesPattern(buffer.data(), got, _received);
			_received += got;
		}
		_ended = true;
	}

	RawClient _client;
	std::atomic<bool> _stop{false};
	std::atomic<std::uint64_t> _sent{0};
	std::atomic<std::uint64_t> _received{0};
	std::atomic<bool> _intact{true};
	std::atomic<bool> _ended{false};
	std::atomic<bool> _writerStopped{false};
	std::atomic<Outcome> _end{Outcome::DATA};
	std::thread _writer;
	std::thread _reader;
};

// How a short session that sent the pattern and waited for its echo went.
enum class Fate { SERVED, REFUSED, BROKEN };

// A refusal: the connection ended (reset or FIN) before a single byte came back.
inline Fate fateOf(bool echoed, const std::string& problem)
{
	if (echoed)
		return Fate::SERVED;
	if (problem.rfind("reset after 0 ", 0) == 0 || problem.rfind("closed (FIN) after 0 ", 0) == 0)
		return Fate::REFUSED;
	return Fate::BROKEN;
}


} } // namespace ForwardOptimal::Test
