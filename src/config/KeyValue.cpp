#include "config/KeyValue.h"

#include "config/ConfigException.h"

#include "Poco/JSON/Array.h"
#include "Poco/JSON/Object.h"

#include <sstream>

namespace ForwardOptimal {
namespace Config {

using Poco::Dynamic::Var;


KeyValue::KeyValue(std::string key, Var value, std::string source):
	_key(std::move(key)),
	_value(std::move(value)),
	_source(std::move(source))
{
}


void KeyValue::fail(const std::string& problem) const
{
	throw ConfigException(ConfigException::Kind::INVALID, _source, _key, problem);
}


std::string KeyValue::string() const
{
	if (!_value.isString())
		fail("must be a string, got " + typeName(_value));
	return _value.toString();
}


double KeyValue::number() const
{
	if (_value.isBoolean() || !_value.isNumeric())
		fail("must be a number, got " + typeName(_value)
			+ (_value.isString() ? " (write " + _value.toString() + " without quotes)" : ""));
	return _value.convert<double>();
}


bool KeyValue::boolean() const
{
	if (!_value.isBoolean())
		fail("must be true or false, got " + typeName(_value)
			+ (_value.isString() ? " (write " + _value.toString() + " without quotes)" : ""));
	return _value.convert<bool>();
}


std::vector<std::string> KeyValue::stringList() const
{
	if (_value.type() != typeid(Poco::JSON::Array::Ptr))
		fail("must be an array of \"host:port\" strings, got " + typeName(_value));
	Poco::JSON::Array::Ptr array = _value.extract<Poco::JSON::Array::Ptr>();
	std::vector<std::string> items;
	for (std::size_t i = 0; i < array->size(); ++i)
	{
		Var item = array->get(static_cast<unsigned>(i));
		if (!item.isString())
			fail("element " + std::to_string(i + 1) + " must be a \"host:port\" string, got " + typeName(item));
		items.push_back(item.toString());
	}
	return items;
}


std::string KeyValue::typeName(const Var& value)
{
	if (value.isEmpty()) return "null";
	if (value.isBoolean()) return "a boolean";
	if (value.isString()) return "a string";
	if (value.isNumeric()) return "a number";
	if (value.type() == typeid(Poco::JSON::Array::Ptr)) return "an array";
	if (value.type() == typeid(Poco::JSON::Object::Ptr)) return "an object";
	return "an unsupported value";
}


std::string KeyValue::format(double value)
{
	std::ostringstream out;
	out << value;
	return out.str();
}

} } // namespace ForwardOptimal::Config
