#pragma once

#include "net/MappedAddress.h"

#include <mutex>
#include <unordered_map>

namespace ForwardOptimal {
namespace Net {

/// Counts the connections each client address holds and refuses one more beyond a limit
/// (`maxConnectionsPerSource`), so that one address (a slowloris client, a runaway script)
/// cannot take every relay thread while others wait.
///
/// A connection holds a Lease for as long as it lives; destroying the Lease gives its place
/// back, however the connection ends. Addresses are compared as MappedAddress, so a client of
/// a dual-stack listener (::ffff:192.0.2.1) counts as 192.0.2.1. An address with no
/// connection has no entry: memory follows the connections, not the number of addresses ever
/// seen. One mutex over one map: a check is one lock and one hash lookup, and the checks come
/// from the one accept thread (docs/benchmarks.md measured 16 shards against this: no gain).
/// Thread-safe.
class SourceLimiter
{
public:
	/// A connection's place in its address's count. A default-constructed Lease is granted and
	/// counts nothing. Movable, not copyable; not thread-safe itself.
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
			/// False when the address had `limit` connections already: refuse the client.

	private:
		friend class SourceLimiter;
		Lease(SourceLimiter* pOwner, const MappedAddress& address, bool granted);
		void release();

		SourceLimiter* _pOwner = nullptr;   // set while the lease holds a place
		MappedAddress _address;
		bool _granted = true;
	};

	SourceLimiter() = default;
	SourceLimiter(const SourceLimiter&) = delete;
	SourceLimiter& operator=(const SourceLimiter&) = delete;

	Lease acquire(const MappedAddress& address, unsigned limit);
		/// One more connection from `address` (a client's, as accept() returned it, or the
		/// source of a trusted balancer's PROXY header once read), if it has fewer than `limit`;
		/// limit 0 = no limit (granted, nothing counted). The limiter must outlive the lease.

private:
	void release(const MappedAddress& address);

	std::mutex _mutex;
	std::unordered_map<MappedAddress, unsigned, MappedAddress::Hash> _counts;
};

} } // namespace ForwardOptimal::Net
