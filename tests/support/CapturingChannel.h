#pragma once

#include "Poco/AutoPtr.h"
#include "Poco/Channel.h"
#include "Poco/Logger.h"
#include "Poco/Message.h"

#include <mutex>
#include <string>
#include <vector>

namespace ForwardOptimal {
namespace Test {

/// Collects the messages of a logger, so a test can assert on what an operator would read.
class CapturingChannel: public Poco::Channel
{
public:
	static Poco::AutoPtr<CapturingChannel> attach(const std::string& loggerName)
	{
		Poco::AutoPtr<CapturingChannel> pChannel = new CapturingChannel;
		Poco::Logger& logger = Poco::Logger::get(loggerName);
		logger.setChannel(pChannel);
		logger.setLevel(Poco::Message::PRIO_DEBUG);
		return pChannel;
	}

	void log(const Poco::Message& message) override
	{
		std::lock_guard<std::mutex> lock(_mutex);
		_text += message.getText() + "\n";
	}

	std::string text() const
	{
		std::lock_guard<std::mutex> lock(_mutex);
		return _text;
	}

	std::size_t count(const std::string& fragment) const
	{
		std::string all = text();
		std::size_t n = 0;
		for (std::size_t at = all.find(fragment); at != std::string::npos; at = all.find(fragment, at + 1))
			++n;
		return n;
	}

private:
	mutable std::mutex _mutex;
	std::string _text;
};

} } // namespace ForwardOptimal::Test
