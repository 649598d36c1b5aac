// Soak load for scripts/soak.sh (a measurement tool, not a test): WORKERS threads open sessions
// through the proxy to fo_demo_backend echo servers for SECONDS, and verify every byte that
// comes back against what was sent.
//
//   fo_soak_client HOST:PORT SECONDS [WORKERS=16] [SEED=1]
//
// Sessions are mixed: most are short (send 1 byte to 256 KiB while reading the echo, then
// half-close and read to the end), one in five is long (2 to 20 s of small request/response
// exchanges). Each session first reads the backend's greeting line. Outcomes:
//   ok           completed, every byte echoed back intact (counted in bytes_verified)
//   refused      no greeting: connect failed, or the proxy closed at once (all targets down)
//   interrupted  the session broke off (its upstream was killed): every byte received until
//                then was still checked
//   timeout      nothing moved for 15 s
//   corrupt      a byte came back that was not sent: the one outcome that must never happen
// Prints one summary line of key=value pairs; exit status 1 when any session was corrupt.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;
constexpr int STALL_MS = 15000;

enum Outcome { OK, REFUSED, INTERRUPTED, TIMEOUT, CORRUPT, OUTCOMES };
const char* const NAMES[OUTCOMES] = {"ok", "refused", "interrupted", "timeout", "corrupt"};

std::atomic<std::uint64_t> g_outcomes[OUTCOMES];
std::atomic<std::uint64_t> g_bytesVerified{0};
std::atomic<std::uint64_t> g_longSessions{0};

sockaddr_in g_target{};

// The byte stream of one session: a cheap generator both sides of the check can replay.
struct Pattern
{
	explicit Pattern(std::uint64_t seed): state(seed * 0x9E3779B97F4A7C15ULL + 1) {}
	unsigned char next()
	{
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		return static_cast<unsigned char>(state >> 24);
	}
	std::uint64_t state;
};

class Session
{
public:
	explicit Session(std::uint64_t seed): _sent(seed), _expected(seed) {}
	~Session() { if (_fd >= 0) ::close(_fd); }

	Outcome open()
	{
		_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (_fd < 0 || ::connect(_fd, reinterpret_cast<const sockaddr*>(&g_target), sizeof g_target) != 0)
			return REFUSED;
		int one = 1;
		::setsockopt(_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		// The greeting line: "hello from NAME (ADDRESS)\n".
		for (char c = 0; c != '\n';)
		{
			if (!wait(POLLIN))
				return TIMEOUT;
			ssize_t n = ::recv(_fd, &c, 1, 0);
			if (n <= 0)
				return REFUSED;
		}
		return OK;
	}

	// Sends `length` pattern bytes while reading and checking the echo; with `finish`, then
	// half-closes and expects EOF right after the last echoed byte.
	Outcome exchange(std::size_t length, bool finish)
	{
		std::size_t toSend = length;      // pattern bytes not yet generated
		std::size_t toReceive = length;
		unsigned char out[16 * 1024];
		std::size_t outStart = 0, outEnd = 0;   // generated, not yet accepted by the socket
		unsigned char in[16 * 1024];
		bool shut = false;
		while (toReceive > 0 || (finish && !shut) || (finish && !_eof))
		{
			if (finish && toSend == 0 && outStart == outEnd && !shut)
			{
				::shutdown(_fd, SHUT_WR);
				shut = true;
			}
			short events = POLLIN;
			if (toSend > 0 || outStart < outEnd)
				events |= POLLOUT;
			pollfd entry{_fd, events, 0};
			int ready = ::poll(&entry, 1, STALL_MS);
			if (ready == 0)
				return TIMEOUT;
			if (ready < 0)
				continue;
			if (entry.revents & POLLOUT)
			{
				if (outStart == outEnd)
				{
					std::size_t chunk = std::min(toSend, sizeof out);
					for (std::size_t i = 0; i < chunk; ++i)
						out[i] = _sent.next();
					toSend -= chunk;
					outStart = 0;
					outEnd = chunk;
				}
				// Never blocks: a full socket waits for the next POLLOUT while the echo is read.
				ssize_t n = ::send(_fd, out + outStart, outEnd - outStart, MSG_NOSIGNAL | MSG_DONTWAIT);
				if (n < 0 && errno != EINTR && errno != EAGAIN)
					return INTERRUPTED;
				if (n > 0)
					outStart += static_cast<std::size_t>(n);
			}
			if (entry.revents & (POLLIN | POLLERR | POLLHUP))
			{
				ssize_t n = ::recv(_fd, in, sizeof in, MSG_DONTWAIT);
				if (n < 0)
				{
					if (errno == EINTR || errno == EAGAIN)
						continue;
					return INTERRUPTED;
				}
				if (n == 0)
				{
					_eof = true;
					if (toReceive > 0)
						return INTERRUPTED;
					continue;
				}
				if (static_cast<std::size_t>(n) > toReceive)
					return CORRUPT; // more came back than was sent
				for (ssize_t i = 0; i < n; ++i)
					if (in[i] != _expected.next())
						return CORRUPT;
				toReceive -= static_cast<std::size_t>(n);
				_verified += static_cast<std::uint64_t>(n);
			}
		}
		return OK;
	}

	std::uint64_t verified() const { return _verified; }

private:
	bool wait(short events)
	{
		pollfd entry{_fd, events, 0};
		return ::poll(&entry, 1, STALL_MS) > 0;
	}

	int _fd = -1;
	bool _eof = false;
	Pattern _sent;
	Pattern _expected;
	std::uint64_t _verified = 0;
};

void worker(unsigned id, Clock::time_point deadline, unsigned seed)
{
	std::mt19937_64 random(seed * 1000003ULL + id);
	std::uint64_t sessionNumber = 0;
	while (Clock::now() < deadline)
	{
		Session session(random() ^ ++sessionNumber);
		Outcome outcome = session.open();
		if (outcome == OK)
		{
			if (random() % 5 == 0)
			{
				++g_longSessions;
				auto end = Clock::now() + std::chrono::milliseconds(2000 + random() % 18000);
				while (outcome == OK && Clock::now() < end)
				{
					outcome = session.exchange(1 + random() % 4096, false);
					std::this_thread::sleep_for(std::chrono::milliseconds(200));
				}
				if (outcome == OK)
					outcome = session.exchange(0, true);
			}
			else
				outcome = session.exchange(1 + random() % (256 * 1024), true);
		}
		++g_outcomes[outcome];
		if (outcome == OK)
			g_bytesVerified += session.verified();
		if (outcome == REFUSED)
			std::this_thread::sleep_for(std::chrono::milliseconds(50)); // no busy loop while all is down
	}
}

} // namespace


int main(int argc, char** argv)
{
	if (argc < 3)
	{
		std::fprintf(stderr, "usage: fo_soak_client HOST:PORT SECONDS [WORKERS=16] [SEED=1]\n");
		return 64;
	}
	std::string address = argv[1];
	auto colon = address.rfind(':');
	g_target.sin_family = AF_INET;
	if (colon == std::string::npos || ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &g_target.sin_addr) != 1)
	{
		std::fprintf(stderr, "fo_soak_client: HOST:PORT must be an IPv4 address and a port: %s\n", argv[1]);
		return 64;
	}
	g_target.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
	int seconds = std::stoi(argv[2]);
	unsigned workers = argc > 3 ? static_cast<unsigned>(std::stoi(argv[3])) : 16;
	unsigned seed = argc > 4 ? static_cast<unsigned>(std::stoi(argv[4])) : 1;

	auto deadline = Clock::now() + std::chrono::seconds(seconds);
	std::vector<std::thread> threads;
	for (unsigned i = 0; i < workers; ++i)
		threads.emplace_back(worker, i, deadline, seed);
	for (auto& thread : threads)
		thread.join();

	std::uint64_t total = 0;
	for (auto& count : g_outcomes)
		total += count;
	std::printf("sessions=%llu long_sessions=%llu bytes_verified=%llu",
		static_cast<unsigned long long>(total), static_cast<unsigned long long>(g_longSessions.load()),
		static_cast<unsigned long long>(g_bytesVerified.load()));
	for (int i = 0; i < OUTCOMES; ++i)
		std::printf(" %s=%llu", NAMES[i], static_cast<unsigned long long>(g_outcomes[i].load()));
	std::printf("\n");
	return g_outcomes[CORRUPT] > 0 ? 1 : 0;
}
