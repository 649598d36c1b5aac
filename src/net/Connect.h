#pragma once

#include "Poco/Net/SocketAddress.h"
#include "Poco/Net/StreamSocket.h"

#include <chrono>
#include <string>

namespace ForwardOptimal {
namespace Net {

/// The outcome of connect(): a connected socket, or the errno of the failure and a text that
/// names the address. A value, not an exception: this is on every session's path while the
/// pool is off or empty.
struct Connected
{
	Poco::Net::StreamSocket socket;  /// connected, blocking, tuned, SO_SNDTIMEO set; only when error == 0
	int error = 0;                   /// errno of the failure; ETIMEDOUT when the timeout ran out
	std::string text;                /// e.g. "Connection refused: 127.0.0.1:22"

	explicit operator bool() const { return error == 0; }
};

Connected connect(const Poco::Net::SocketAddress& address, std::chrono::milliseconds timeout);
	/// Connects a TCP socket to `address` within `timeout`: tuned, then a blocking connect()
	/// bounded by SO_SNDTIMEO, which stays set (a blocking send on the socket gives up after
	/// `timeout` too). Five system calls in all; POCO 1.11's connect with a timeout builds an
	/// epoll set for the wait and toggles blocking mode twice. Thread-safe.

/// What a non-consuming look at an idle connection finds.
enum class Liveness
{
	ALIVE,              /// open; unread bytes (a banner) may be waiting for the client
	CLOSED,             /// the peer closed (FIN, reset or error) and sent nothing we did not read
	CLOSED_AFTER_DATA   /// the peer sent bytes and then closed
};

Liveness liveness(int fd);
	/// Looks at an idle connection without consuming anything: `MSG_PEEK`, never a read.

bool isAlive(int fd);
	/// liveness(fd) == ALIVE: false if the peer closed (even after sending data) or an error
	/// is pending.

std::string peekText(int fd, std::size_t limit = 120);
	/// Up to `limit` printable characters of the bytes waiting in `fd`, without consuming
	/// them: other bytes are written `\xNN`, a line break ends the text. For a log line quoting
	/// what a server said before closing (MariaDB: "Host '…' is blocked …").

void tune(Poco::Net::StreamSocket& socket);
	/// TCP_NODELAY and keepalive, for every relayed socket.

} } // namespace ForwardOptimal::Net
