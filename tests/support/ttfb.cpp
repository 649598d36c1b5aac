// Connect-to-first-byte timer for measurements (not a test): connects COUNT times to a server
// that speaks first (an SSH-like banner), timing each from the start of connect() to the first
// byte received, and prints the distribution in milliseconds.
//
//   fo_ttfb HOST:PORT [COUNT] [PAUSE_MS]
#include "Poco/Net/StreamSocket.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv)
{
	if (argc < 2)
	{
		std::cerr << "usage: fo_ttfb HOST:PORT [COUNT] [PAUSE_MS]\n";
		return 64;
	}
	Poco::Net::SocketAddress address(argv[1]);
	int count = argc > 2 ? std::stoi(argv[2]) : 200;
	int pauseMs = argc > 3 ? std::stoi(argv[3]) : 100;
	std::vector<double> samples;
	int failures = 0;
	for (int i = 0; i < count; ++i)
	{
		try
		{
			auto started = std::chrono::steady_clock::now();
			Poco::Net::StreamSocket socket;
			socket.connect(address, Poco::Timespan(5, 0));
			socket.setReceiveTimeout(Poco::Timespan(5, 0));
			char byte;
			if (socket.receiveBytes(&byte, 1) == 1)
				samples.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
			else
				++failures;
		}
		catch (const Poco::Exception&)
		{
			++failures;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(pauseMs));
	}
	if (samples.empty())
	{
		std::cout << "no samples, " << failures << " failures\n";
		return 1;
	}
	std::sort(samples.begin(), samples.end());
	auto at = [&](double q) { return samples[static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1))]; };
	std::printf("n=%zu failures=%d min=%.2f median=%.2f p90=%.2f max=%.2f\n",
		samples.size(), failures, samples.front(), at(0.5), at(0.9), samples.back());
	return failures ? 1 : 0;
}
