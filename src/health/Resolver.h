#pragma once

#include "config/Endpoint.h"

#include "Poco/Net/SocketAddress.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace ForwardOptimal {
namespace Health {

/// What a name resolved to: every address (A and AAAA, deduplicated, in the resolver's order),
/// or why none.
struct Resolution
{
	std::vector<Poco::Net::SocketAddress> addresses;
	std::string error;  /// "DNS: ..." when the name did not resolve (or not in time)

	explicit operator bool() const { return error.empty(); }
};

/// Turns a target into the addresses to probe. probe rounds call resolve() concurrently for
/// different targets; it must not throw and must return within `timeout`.
class Resolver
{
public:
	virtual ~Resolver() = default;

	virtual Resolution resolve(const Config::Endpoint& target, std::chrono::milliseconds timeout) = 0;
		/// Only called for names: a literal address never reaches a resolver (see literal()).

	static std::optional<Poco::Net::SocketAddress> literal(const Config::Endpoint& target);
		/// The target's one address when it is an IPv4 or IPv6 literal; nullopt for a name.
};

/// getaddrinfo() (AF_UNSPEC, SOCK_STREAM) with a deadline. getaddrinfo has no timeout of its
/// own (a resolver that never answers holds it for resolv.conf's timeout × attempts, or for
/// ever with some NSS modules), so it runs on a detached thread and resolve() waits for it
/// until `timeout`. The state the thread writes is shared by shared_ptr, so a thread that
/// finishes after resolve() gave up (or after the resolver is gone) touches nothing freed.
/// A name whose lookup is still running is not looked up again: the next resolve() waits
/// for the same lookup, so a dead resolver costs one thread per name, not one per round.
/// Thread-safe.
class SystemResolver: public Resolver
{
public:
	Resolution resolve(const Config::Endpoint& target, std::chrono::milliseconds timeout) override;

	static Resolution lookup(const std::string& host, std::uint16_t port);
		/// The blocking lookup itself (no deadline).

private:
	struct Pending
	{
		std::mutex mutex;
		std::condition_variable done;
		bool finished = false;
		Resolution result;
	};

	std::mutex _mutex;
	std::map<std::string, std::shared_ptr<Pending>> _pending;  // lookups running, by host:port
};

} } // namespace ForwardOptimal::Health
