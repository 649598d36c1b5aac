#include "app/PortsFile.h"

#include "Poco/Exception.h"
#include "Poco/JSON/Object.h"
#include "Poco/JSON/Stringifier.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ForwardOptimal {
namespace App {

PortsFile::PortsFile(const std::string& path, const Poco::Net::SocketAddress& listen, const std::string& admin):
	_path(path)
{
	const std::string temporary = path + ".tmp";
	{
		std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
		out << json(listen, admin);
		out.close();
		if (!out)
			throw Poco::FileException("cannot write the ports file " + temporary, std::strerror(errno));
	}
	if (std::rename(temporary.c_str(), path.c_str()) != 0)
	{
		int error = errno;
		std::remove(temporary.c_str());
		throw Poco::FileException("cannot rename " + temporary + " to " + path, std::strerror(error));
	}
}


PortsFile::~PortsFile()
{
	std::remove(_path.c_str());
}


std::string PortsFile::json(const Poco::Net::SocketAddress& listen, const std::string& admin)
{
	Poco::JSON::Object object(Poco::JSON_PRESERVE_KEY_ORDER);
	object.set("listen", listen.toString());
	object.set("admin", admin);
	std::ostringstream out;
	Poco::JSON::Stringifier::stringify(object, out);
	return out.str() + "\n";
}

} } // namespace ForwardOptimal::App
