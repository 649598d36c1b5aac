#include "config/ConfigException.h"

namespace ForwardOptimal {
namespace Config {

namespace {

std::string compose(const std::string& source, const std::string& key, const std::string& problem)
{
	std::string text = source;
	if (!key.empty())
		text += (source == "-D" ? " " : ": key '") + key + (source == "-D" ? "" : "'");
	return text + ": " + problem;
}

} // namespace


ConfigException::ConfigException(Kind kind, const std::string& source, const std::string& key, const std::string& problem):
	Poco::Exception(compose(source, key, problem)),
	_kind(kind),
	_source(source),
	_key(key),
	_problem(problem)
{
}


const char* ConfigException::name() const noexcept
{
	return "Configuration error";
}


const char* ConfigException::className() const noexcept
{
	return typeid(*this).name();
}


Poco::Exception* ConfigException::clone() const
{
	return new ConfigException(*this);
}


void ConfigException::rethrow() const
{
	throw *this;
}

} } // namespace ForwardOptimal::Config
