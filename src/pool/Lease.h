#pragma once

#include "Poco/Net/StreamSocket.h"

#include <string>

namespace ForwardOptimal {
namespace Pool {

/// Why UpstreamPool::acquire() has no socket for a target.
enum class LeaseFailure
{
	NONE,               /// a socket is there
	UNRESOLVED,         /// the target's name did not resolve
	REFUSED,            /// the connect was refused (nothing listens)
	TIMED_OUT,          /// no answer within connectTimeout
	UNREACHABLE,        /// any other network error
	RESOURCE_SHORTAGE   /// this process or host ran out of descriptors or memory: not the target's fault
};

/// A session's upstream socket, or why there is none: the data plane's value in place of an
/// out-parameter and an exception.
struct Lease
{
	Poco::Net::StreamSocket socket;  /// connected; used by one client session, never returned
	bool pooled = false;             /// pre-connected by the pool (a hit) rather than connected now
	LeaseFailure failure = LeaseFailure::NONE;
	std::string reason;              /// the failure in words, naming the address ("Connection refused: …")

	explicit operator bool() const { return failure == LeaseFailure::NONE; }
		/// True when `socket` is there.

	bool localShortage() const { return failure == LeaseFailure::RESOURCE_SHORTAGE; }
		/// The failure says nothing about the target, and no other target would do better.
};

} } // namespace ForwardOptimal::Pool
