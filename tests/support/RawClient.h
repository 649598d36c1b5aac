#pragma once

#include "Pattern.h"
#include "RawSend.h"

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

// Plain sockets, for clients that must be able to bind a source address, reset, stop reading,
// and check every byte against the test pattern (Pattern.h).
namespace ForwardOptimal {
namespace Test {

sockaddr_in ipv4(const std::string& hostPort)
{
	sockaddr_in address{};
	address.sin_family = AF_INET;
	std::size_t colon = hostPort.rfind(':');
	if (colon == std::string::npos || ::inet_pton(AF_INET, hostPort.substr(0, colon).c_str(), &address.sin_addr) != 1)
		throw std::runtime_error("not an IPv4 host:port: " + hostPort);
	address.sin_port = htons(static_cast<std::uint16_t>(std::stoi(hostPort.substr(colon + 1))));
	return address;
}

enum class Outcome { DATA, CLOSED, RESET, TIMEOUT };

inline const char* toString(Outcome outcome)
{
	switch (outcome)
	{
	case Outcome::DATA: return "data";
	case Outcome::CLOSED: return "closed (FIN)";
	case Outcome::RESET: return "reset";
	case Outcome::TIMEOUT: return "timeout";
	}
	return "?";
}

// Waits up to `timeout` for bytes: DATA with `got` > 0, or how the stream ended.
inline Outcome receiveSome(int fd, char* buffer, std::size_t size, std::chrono::milliseconds timeout, std::size_t& got)
{
	got = 0;
	pollfd entry{fd, POLLIN, 0};
	int ready;
	do
		ready = ::poll(&entry, 1, static_cast<int>(timeout.count()));
	while (ready < 0 && errno == EINTR);
	if (ready == 0)
		return Outcome::TIMEOUT;
	ssize_t n;
	do
		n = ::recv(fd, buffer, size, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0)
	{
		got = static_cast<std::size_t>(n);
		return Outcome::DATA;
	}
	if (n == 0)
		return Outcome::CLOSED;
	if (errno == EAGAIN)
		return Outcome::TIMEOUT;
	return Outcome::RESET; // ECONNRESET, or EPIPE after one
}

// A client connection to `to`, from `from` (any loopback address) when given.
// A proxy that refuses a client resets it at once, and the reset can arrive before the
// client's connect() returns: then connect() fails with ECONNRESET. That is a refusal like
// any other, so the failure is kept (connectError()) and the connection reads as reset.
class RawClient
{
public:
	explicit RawClient(const std::string& to, const std::string& from = std::string())
	{
		_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (!from.empty())
		{
			sockaddr_in source = ipv4(from + ":0");
			if (::bind(_fd, reinterpret_cast<const sockaddr*>(&source), sizeof source) != 0)
				throw std::runtime_error("bind " + from + ": " + std::strerror(errno));
		}
		sockaddr_in address = ipv4(to);
		if (::connect(_fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
			_connectError = errno;
	}

	int connectError() const { return _connectError; }

	~RawClient() { close(); }
	RawClient(const RawClient&) = delete;
	RawClient& operator=(const RawClient&) = delete;

	int fd() const { return _fd; }

	bool send(const std::string& bytes) { return send(bytes.data(), bytes.size()); }

	bool send(const char* data, std::size_t size) { return sendAll(_fd, data, size); }

	bool sendPattern(std::uint64_t offset, std::size_t size)
	{
		std::string chunk(size, '\0');
		fillPattern(chunk.data(), size, offset);
		return send(chunk);
	}

	// Reads exactly `size` bytes of the pattern from `offset` on; false (with the reason) if the
	// stream ends, stalls for `timeout`, or carries anything else.
	bool expectPattern(std::uint64_t offset, std::size_t size, std::string& problem,
		std::chrono::milliseconds timeout = std::chrono::milliseconds(20000))
	{
		if (_connectError != 0)
		{
			problem = _connectError == ECONNRESET ? "reset after 0 of " + std::to_string(size) + " bytes (in connect)"
				: std::string("connect: ") + std::strerror(_connectError);
			return false;
		}
		std::string data(size, '\0');
		std::size_t have = 0;
		while (have < size)
		{
			std::size_t got = 0;
			Outcome outcome = receiveSome(_fd, data.data() + have, size - have, timeout, got);
			if (outcome != Outcome::DATA)
			{
				problem = std::string(toString(outcome)) + " after " + std::to_string(have) + " of " + std::to_string(size) + " bytes";
				return false;
			}
			have += got;
		}
		if (!matchesPattern(data.data(), size, offset))
		{
			problem = "bytes differ from the pattern";
			return false;
		}
		return true;
	}

	// Waits for the end of the stream, discarding nothing: any byte that arrives is an error.
	Outcome expectEnd(std::chrono::milliseconds timeout)
	{
		if (_connectError == ECONNRESET)
			return Outcome::RESET;
		char byte;
		std::size_t got = 0;
		return receiveSome(_fd, &byte, 1, timeout, got);
	}

	void shutdownSend() { ::shutdown(_fd, SHUT_WR); }

	// Vanishes without FIN: SO_LINGER 0 makes close() send a reset.
	void reset()
	{
		linger option{1, 0};
		::setsockopt(_fd, SOL_SOCKET, SO_LINGER, &option, sizeof option);
		close();
	}

	void close()
	{
		if (_fd >= 0)
			::close(_fd);
		_fd = -1;
	}

private:
	int _fd = -1;
	int _connectError = 0;
};


} } // namespace ForwardOptimal::Test
