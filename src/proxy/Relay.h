#pragma once

#include "config/Settings.h"
#include "proxy/PipePool.h"

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
	std::uint64_t spliced = 0;            /// of both, the bytes moved by splice(2) rather than copied
	std::string detail;                   /// the error text, when there was one
};

/// Whether and through which pipes a Relay may splice (its last argument).
struct SpliceOptions
{
	Config::SpliceMode mode = Config::SpliceMode::OFF;
	PipePool* pPool = nullptr;   /// borrowed, outlives the relay; null: copy only
};

/// Moves bytes both ways between two connected TCP sockets on the calling thread, until both
/// directions are finished: one poll() over both descriptors, one buffer or pipe per direction.
/// - Copy or splice: a direction copies through a user-space buffer, or moves its bytes with
///   splice(2) through a pipe from `splice.pPool` (socket -> pipe -> socket, never through user
///   space). With mode AUTO it takes a pipe for its next read once it carries bulk (a read that
///   filled the buffer; for a splice read, min(bufferSize, 64 KiB)) and copies again after a
///   short read; with ALWAYS it takes one for every read. A pipe is held only while it holds
///   bytes (or during one read): once they are all out the pipe goes back, so a direction that
///   waits for input, and so an idle session, holds none. No free pipe: the direction copies
///   (the pool counts it) until it is idle again, then tries again. A direction that splices
///   sets both sockets O_NONBLOCK (and leaves them so). splice() to a socket whose peer has
///   gone raises SIGPIPE: the process must ignore SIGPIPE (the application does).
/// - Backpressure: a direction whose bytes cannot be written yet (in its buffer or its pipe)
///   stops reading, so memory stays at two buffers or pipes however slow a peer is; a
///   direction that is idle holds no buffer and no pipe.
/// - Half-close: EOF from one side becomes shutdown(SHUT_WR) on the other once its bytes are
///   out; the other direction keeps flowing until it ends too.
/// - Errors: a reset or failure on either side ends the session at once; the other side is
///   then reset too (SO_LINGER 0), so neither peer mistakes the end for a clean one.
/// - Idle timeout: no progress either way for `idleTimeout` (0 = never) ends it.
/// - Shutdown: when `stopFd` (if not -1) becomes readable, the session ends.
/// - Byte counts: bytes written to the other side, whichever path they took.
/// - A session that ends any other way than COMPLETED loses what its buffers and pipes still
///   held, as before; such a pipe is closed, never reused.
/// The descriptors are borrowed: the caller closes them. Pipes go back to the pool when run()
/// returns (at the latest when the Relay is destroyed). Not thread-safe; one per session.
class Relay
{
public:
	Relay(int clientFd, int upstreamFd, std::size_t bufferSize, std::chrono::milliseconds idleTimeout, int stopFd = -1,
		SpliceOptions splice = SpliceOptions());
	~Relay();
	Relay(const Relay&) = delete;
	Relay& operator=(const Relay&) = delete;

	RelayResult run();

private:
	struct Direction
	{
		int from;
		int to;
		std::unique_ptr<char[]> buffer;   // _bufferSize bytes while the direction copies data
		std::size_t start = 0;
		std::size_t end = 0;
		Pipe pipe;                // while the direction splices
		std::size_t inPipe = 0;   // bytes in the pipe, not yet written to `to`
		bool bulk = false;        // the last read was bulk (AUTO: splice the next one)
		bool noPipe = false;      // none was free: copy until the direction is idle again
		bool eof = false;         // `from` sent FIN
		bool shut = false;        // FIN passed on to `to`
		std::uint64_t bytes = 0;
		std::uint64_t spliced = 0;  // of `bytes`, those that went through the pipe

		bool pending() const { return start < end || inPipe > 0; }
		bool done() const { return shut; }
	};

	// Returns false when the session must end (error).
	bool readInto(Direction& direction, RelayResult& result);
	bool copyIn(Direction& direction, RelayResult& result);
	bool spliceIn(Direction& direction, RelayResult& result);
	bool flush(Direction& direction, RelayResult& result);
	bool flushBuffer(Direction& direction, RelayResult& result);
	bool flushPipe(Direction& direction, RelayResult& result);
	bool wantsPipe(const Direction& direction) const;
	void takePipe(Direction& direction);
	void givePipeBack(Direction& direction);
	void releasePipes();
	void fail(RelayResult& result, int fd, int error);

	int _client;
	int _upstream;
	std::chrono::milliseconds _idleTimeout;
	int _stopFd;
	std::size_t _bufferSize;
	SpliceOptions _splice;
	bool _nonBlocking = false;   // both sockets set O_NONBLOCK (for splice)
	Direction _up;
	Direction _down;
};

} } // namespace ForwardOptimal::Proxy
