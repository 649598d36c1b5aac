#pragma once

#include "Poco/Net/SocketAddress.h"

#include <string>

namespace ForwardOptimal {
namespace App {

/// The file that `--ports-file=<file>` asks for: the addresses the process actually listens on,
/// as JSON, for scripts and tests that start it with port 0:
///     {"listen": "127.0.0.1:40123", "admin": "127.0.0.1:40124"}
/// ("admin" is "" when the admin endpoint is off). The file is written once the servers are
/// listening, atomically (to `<file>.tmp`, then renamed), so whoever sees it can read it whole;
/// the destructor removes it. Not copyable; one thread.
class PortsFile
{
public:
	PortsFile(const std::string& path, const Poco::Net::SocketAddress& listen, const std::string& admin);
		/// Writes the file. Throws Poco::FileException, naming the file, when it cannot.
	~PortsFile();
		/// Removes the file (errors are ignored: the process is stopping).
	PortsFile(const PortsFile&) = delete;
	PortsFile& operator=(const PortsFile&) = delete;

	static std::string json(const Poco::Net::SocketAddress& listen, const std::string& admin);
		/// The file's content.

private:
	std::string _path;
};

} } // namespace ForwardOptimal::App
