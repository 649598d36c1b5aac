#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <sys/socket.h>

namespace Poco {
namespace Net {
class IPAddress;
} }

namespace ForwardOptimal {
namespace Proxy {

/// Counts the sessions each client address has running and refuses one more beyond a limit
/// (`maxConnectionsPerSource`), so that one address (a slowloris client, a runaway script)
/// cannot take every relay thread while others wait.
///
/// A session holds a Lease for as long as it runs; destroying the Lease releases its count,
/// however the session ends. Addresses are compared as 16-byte IPv6 addresses, IPv4 ones in
/// their IPv4-mapped form, so a client of a dual-stack listener (::ffff:192.0.2.1) counts as
/// 192.0.2.1. An address with no session has no entry: memory follows the sessions, not
/// the number of addresses ever seen. The counts are split over SHARDS maps, each with its
/// own mutex, so concurrent accepts rarely meet on a lock; a check costs one lock and one
/// hash lookup. Thread-safe.
class SourceLimiter
{
public:
	using Address = std::array<std::uint8_t, 16>;
	static constexpr std::size_t SHARDS = 16;

	/// A session's place in its address's count. A default-constructed Lease is granted and
	/// counts nothing (no limit). Movable, not copyable; not thread-safe itself.
	class Lease
	{
	public:
		Lease() = default;
		Lease(Lease&& other) noexcept;
		Lease& operator=(Lease&& other) noexcept;
		Lease(const Lease&) = delete;
		Lease& operator=(const Lease&) = delete;
		~Lease();

		explicit operator bool() const { return _granted; }
			/// False when the address had `limit` sessions already: refuse the client.

	private:
		friend class SourceLimiter;
		Lease(SourceLimiter* pOwner, const Address& address, bool granted);
		void release();

		SourceLimiter* _pOwner = nullptr;   // set while the lease holds a count
		Address _address{};
		bool _granted = true;
	};

	SourceLimiter() = default;
	SourceLimiter(const SourceLimiter&) = delete;
	SourceLimiter& operator=(const SourceLimiter&) = delete;

	Lease acquire(const Address& source, unsigned limit);
		/// One more session for `source` if it has fewer than `limit`; limit 0 = no limit
		/// (granted without counting). The limiter must outlive the lease.

	Lease acquire(int connectedSocket, unsigned limit);
		/// The same for the peer of a connected socket. A socket whose peer cannot be read any
		/// more (the client is already gone) or is not IP is granted uncounted: it is about to
		/// fail anyway, and refusing it would count a refusal that did not happen.

	std::size_t sessions(const Address& source) const;
		/// Sessions counted for `source` now.

	std::size_t sources() const;
		/// Addresses with at least one session counted.

	static std::optional<Address> addressOf(const sockaddr* pAddress);
		/// The key of an AF_INET or AF_INET6 address (port ignored); nothing for other families.

	static Address addressOf(const Poco::Net::IPAddress& address);

	static std::string toString(const Address& address);
		/// "192.0.2.1" for IPv4 (mapped) addresses, else the IPv6 text.

private:
	struct Hash
	{
		std::size_t operator()(const Address& address) const noexcept { return hash(address); }
	};

	struct Shard
	{
		mutable std::mutex mutex;
		std::unordered_map<Address, unsigned, Hash> counts;
	};

	static std::size_t hash(const Address& address) noexcept;
	Shard& shardOf(const Address& address) { return _shards[hash(address) % SHARDS]; }
	const Shard& shardOf(const Address& address) const { return _shards[hash(address) % SHARDS]; }
	void release(const Address& address);

	std::array<Shard, SHARDS> _shards;
};

} } // namespace ForwardOptimal::Proxy
