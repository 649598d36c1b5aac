#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace ForwardOptimal {
namespace Proxy {

/// How a relayed session ended.
enum class RelayEnd
{
	COMPLETED,       /// both sides closed their direction (FIN both ways), everything delivered
	IDLE_TIMEOUT,    /// no byte moved either way for idleTimeout
	STOPPED,         /// the proxy is shutting down
	CLIENT_ERROR,    /// the client reset, or a read/write on it failed
	UPSTREAM_ERROR   /// the upstream reset, or a read/write on it failed
};

const char* toString(RelayEnd end);

struct RelayResult
{
	RelayEnd end = RelayEnd::COMPLETED;
	std::uint64_t clientToUpstream = 0;   /// bytes delivered to the upstream
	std::uint64_t upstreamToClient = 0;   /// bytes delivered to the client
	std::string detail;                   /// the error text, when there was one
};

/// Moves bytes both ways between two connected TCP sockets on the calling thread, until both
/// directions are finished: one poll() over both descriptors, one buffer per direction.
/// - Backpressure: a direction whose bytes cannot be written yet stops reading, so memory
///   stays at two buffers however slow a peer is; a direction that is idle holds no buffer.
/// - Half-close: EOF from one side becomes shutdown(SHUT_WR) on the other once its bytes are
///   out; the other direction keeps flowing until it ends too.
/// - Errors: a reset or failure on either side ends the session at once; the other side is
///   then reset too (SO_LINGER 0), so neither peer mistakes the end for a clean one.
/// - Idle timeout: no progress either way for `idleTimeout` (0 = never) ends it.
/// - Shutdown: when `stopFd` (if not -1) becomes readable, the session ends.
/// The descriptors are borrowed: the caller closes them. Not thread-safe; one per session.
class Relay
{
public:
	Relay(int clientFd, int upstreamFd, std::size_t bufferSize, std::chrono::milliseconds idleTimeout, int stopFd = -1);
	RelayResult run();

private:
	struct Direction
	{
		int from;
		int to;
		std::unique_ptr<char[]> buffer;   // _bufferSize bytes while the direction carries data
		std::size_t start = 0;
		std::size_t end = 0;
		bool eof = false;        // `from` sent FIN
		bool shut = false;       // FIN passed on to `to`
		std::uint64_t bytes = 0;

		bool pending() const { return start < end; }
		bool done() const { return shut; }
	};

	// Returns false when the session must end (error).
	bool readInto(Direction& direction, RelayResult& result);
	bool flush(Direction& direction, RelayResult& result);
	void fail(RelayResult& result, int fd, int error);

	int _client;
	int _upstream;
	std::chrono::milliseconds _idleTimeout;
	int _stopFd;
	std::size_t _bufferSize;
	Direction _up;
	Direction _down;
};

} } // namespace ForwardOptimal::Proxy
