// The demo's client: connects through ForwardOptimal, reads the backend's greeting (which names
// the backend), sends one line and waits for its echo; prints which backend answered and how
// long it took. Repeats so a user can watch the proxy switch backends, with nothing but the
// project installed (no nc, no telnet).
//
//   fo_demo_client [--connect 127.0.0.1:8080] [--count 1] [--interval 1000] [--timeout 5000]
//
// --count 0 repeats until Ctrl-C. One line per connection:
//   #3  backend-1  greeting after 11.2 ms, echo round trip 10.4 ms
// (the greeting comes at once when ForwardOptimal's pool had the connection ready; the echo
// always crosses the whole path) and, after more than one, a summary of who answered. Exit status: 0 when every connection was
// answered, 1 when one failed (the line says why), 64 on bad arguments.
#include "Poco/Exception.h"
#include "Poco/NumberParser.h"
#include "Poco/Net/SocketAddress.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/Timespan.h"

#include <chrono>
#include <csignal>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <map>
#include <string>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_stop = 0;

void onSignal(int)
{
	g_stop = 1;
}

double millisecondsSince(Clock::time_point start)
{
	return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Reads up to and including '\n'; throws when the peer closes first or the timeout passes.
std::string receiveLine(Poco::Net::StreamSocket& socket)
{
	std::string line;
	char c = 0;
	for (;;)
	{
		int n = socket.receiveBytes(&c, 1);
		if (n <= 0)
			throw Poco::IOException(line.empty() ? "closed without a reply" : "closed in the middle of a line");
		if (c == '\n')
			return line;
		line += c;
	}
}

void sendAll(Poco::Net::StreamSocket& socket, const std::string& data)
{
	std::size_t done = 0;
	while (done < data.size())
	{
		int sent = socket.sendBytes(data.data() + done, static_cast<int>(data.size() - done));
		if (sent <= 0)
			throw Poco::IOException("send failed");
		done += static_cast<std::size_t>(sent);
	}
}

// "hello from backend-1 (127.0.0.1:5000)" -> "backend-1"; anything else is shown as it came.
std::string backendName(const std::string& greeting)
{
	const std::string prefix = "hello from ";
	if (greeting.compare(0, prefix.size(), prefix) != 0)
		return greeting;
	std::string rest = greeting.substr(prefix.size());
	return rest.substr(0, rest.find(" ("));
}

int usage()
{
	std::cerr << "usage: fo_demo_client [--connect HOST:PORT] [--count N (0 = until Ctrl-C)] [--interval MS] [--timeout MS]\n";
	return 64;
}

} // namespace


int main(int argc, char** argv)
{
	std::string connect = "127.0.0.1:8080";
	int count = 1;
	int interval = 1000;
	int timeout = 5000;
	for (int i = 1; i < argc; i += 2)
	{
		std::string option = argv[i];
		if (option == "-h" || option == "--help")
			return usage(), 0;
		if (i + 1 >= argc)
			return usage();
		std::string value = argv[i + 1];
		int number = 0;
		if (option == "--connect")
			connect = value;
		else if (option != "--count" && option != "--interval" && option != "--timeout")
			return usage();
		else if (!Poco::NumberParser::tryParse(value, number) || number < 0 || (option == "--timeout" && number == 0))
		{
			std::cerr << "fo_demo_client: " << option << ": expected a whole number" << (option == "--timeout" ? " above 0" : "") << ", got '" << value << "'\n";
			return 64;
		}
		else
			(option == "--count" ? count : option == "--interval" ? interval : timeout) = number;
	}
	Poco::Net::SocketAddress address;
	try
	{
		address = Poco::Net::SocketAddress(connect);
	}
	catch (const Poco::Exception& error)
	{
		std::cerr << "fo_demo_client: --connect '" << connect << "': " << error.displayText() << "\n";
		return 64;
	}
	std::signal(SIGINT, onSignal);
	std::signal(SIGTERM, onSignal);
	std::signal(SIGPIPE, SIG_IGN);

	std::map<std::string, int> answered;
	int failures = 0;
	int round = 0;
	std::cout << std::fixed << std::setprecision(1);
	while (!g_stop && (count == 0 || round < count))
	{
		if (round > 0)
		{
			auto wake = Clock::now() + std::chrono::milliseconds(interval);
			while (!g_stop && Clock::now() < wake)
				std::this_thread::sleep_for(std::chrono::milliseconds(20));
			if (g_stop)
				break;
		}
		++round;
		auto start = Clock::now();
		try
		{
			Poco::Net::StreamSocket socket;
			socket.connect(address, Poco::Timespan(timeout * Poco::Timespan::MILLISECONDS));
			socket.setReceiveTimeout(Poco::Timespan(timeout * Poco::Timespan::MILLISECONDS));
			std::string name = backendName(receiveLine(socket));
			double reply = millisecondsSince(start);
			std::string ping = "ping " + std::to_string(round);
			auto sent = Clock::now();
			sendAll(socket, ping + "\n");
			std::string echo = receiveLine(socket);
			double echoMs = millisecondsSince(sent);
			if (echo != ping)
				throw Poco::DataException("the echo was '" + echo + "', not '" + ping + "'");
			socket.close();
			++answered[name];
			std::cout << "#" << round << "  " << name << "  greeting after " << reply << " ms, echo round trip " << echoMs << " ms" << std::endl;
		}
		catch (const Poco::Exception& error)
		{
			++failures;
			std::cout << "#" << round << "  no answer from " << connect << ": " << error.displayText() << std::endl;
		}
	}
	if (round > 1)
	{
		std::cout << "answered:";
		for (const auto& [name, times] : answered)
			std::cout << "  " << name << " " << times << "x";
		std::cout << (answered.empty() ? "  none" : "") << "  (" << failures << " failed)" << std::endl;
	}
	return failures == 0 ? 0 : 1;
}
