#pragma once

#include <cstdint>
#include <string>

namespace ForwardOptimal {
namespace Config {

/// A `host:port` pair as the operator wrote it, parsed and checked but not resolved:
/// names are resolved where they are used (the health checker resolves targets afresh each
/// round), so a DNS change needs no restart. A plain value, freely copyable, thread-safe to read.
class Endpoint
{
public:
	enum class HostKind
	{
		ANY,    /// listen only: `:8080`, every address (dual-stack where IPv6 exists)
		IPV4,   /// dotted quad
		IPV6,   /// bracketed literal, stored without brackets, canonical form
		NAME    /// DNS name (or `localhost`)
	};

	Endpoint() = default;

	static Endpoint parseTarget(const std::string& text);
		/// Parses `1.2.3.4:22`, `[2001:db8::1]:22`, `name.example:22`.
		/// Throws Poco::InvalidArgumentException whose message says what is wrong.

	static Endpoint parseListen(const std::string& text);
		/// Like parseTarget, and also accepts `:8080` (every address) and port 0 (the
		/// system picks a free port; the start-up log shows which).

	const std::string& host() const { return _host; }
		/// Host without brackets; empty for ANY.

	std::uint16_t port() const { return _port; }
	HostKind kind() const { return _kind; }

	std::string toString() const;
		/// Canonical text: `1.2.3.4:22`, `[::1]:22`, `name:22`, `:8080`.

	bool operator==(const Endpoint& other) const;
		/// Same canonical text; names compare case-insensitively.

	bool operator!=(const Endpoint& other) const { return !(*this == other); }

private:
	Endpoint(std::string host, std::uint16_t port, HostKind kind);
	static Endpoint parse(const std::string& text, bool forListen);

	std::string _host;
	std::uint16_t _port = 0;
	HostKind _kind = HostKind::ANY;
};

} } // namespace ForwardOptimal::Config
