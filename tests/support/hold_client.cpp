// Opens COUNT concurrent connections to a server that greets and echoes (fo_demo_backend),
// checks every one with a round trip, prints "ready N" and holds them until stdin closes or
// HOLD_SECONDS pass, so a benchmark can read the memory of whatever sits in between.
//
//   fo_hold_client HOST:PORT COUNT [HOLD_SECONDS]
#include "Poco/Net/StreamSocket.h"

#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char** argv)
{
	if (argc < 3)
	{
		std::cerr << "usage: fo_hold_client HOST:PORT COUNT [HOLD_SECONDS]\n";
		return 64;
	}
	rlimit limit{};
	getrlimit(RLIMIT_NOFILE, &limit);
	limit.rlim_cur = limit.rlim_max;
	setrlimit(RLIMIT_NOFILE, &limit);

	Poco::Net::SocketAddress address(argv[1]);
	int count = std::stoi(argv[2]);
	int hold = argc > 3 ? std::stoi(argv[3]) : 60;
	std::vector<Poco::Net::StreamSocket> sockets;
	sockets.reserve(static_cast<std::size_t>(count));
	int verified = 0;
	for (int i = 0; i < count; ++i)
	{
		try
		{
			Poco::Net::StreamSocket socket;
			socket.connect(address, Poco::Timespan(10, 0));
			socket.setReceiveTimeout(Poco::Timespan(10, 0));
			sockets.push_back(socket);
		}
		catch (const Poco::Exception& error)
		{
			std::cerr << "connect " << i << ": " << error.displayText() << "\n";
			break;
		}
	}
	for (auto& socket : sockets)
	{
		try
		{
			char buffer[256];
			int n = socket.receiveBytes(buffer, sizeof buffer); // the greeting
			socket.sendBytes("x", 1);
			char echo = 0;
			if (n > 0 && socket.receiveBytes(&echo, 1) == 1 && echo == 'x')
				++verified;
		}
		catch (const Poco::Exception&)
		{
		}
	}
	std::cout << "ready " << verified << std::endl;
	pollfd in{0, POLLIN, 0};
	poll(&in, 1, hold * 1000);
	return verified == count ? 0 : 1;
}
