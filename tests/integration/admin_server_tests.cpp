// The admin endpoint under abuse (issue 15.5) and its status page headers (issue 15.3), with a
// real AdminServer on loopback: slow and idle clients must not keep /healthz, /readyz and
// /metrics from answering, a request head has one deadline in all, malformed requests get 400.
#include "admin/AdminServer.h"
#include "config/SettingsLoader.h"
#include "health/HealthMonitor.h"

#include "FakeProber.h"
#include "TestSupport.h"

#include "Poco/Net/HTTPClientSession.h"
#include "Poco/Net/HTTPRequest.h"
#include "Poco/Net/HTTPResponse.h"
#include "Poco/Net/NetException.h"
#include "Poco/Net/StreamSocket.h"
#include "Poco/StreamCopier.h"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <thread>

using namespace ForwardOptimal;
using namespace ForwardOptimal::Test;
using namespace std::chrono_literals;

namespace {

const std::string A = "198.18.0.1:1", B = "198.18.0.2:1";

struct Reply
{
	int status = 0;
	std::string body;
	Poco::Net::HTTPResponse response;
	std::chrono::milliseconds took{0};
};

Reply get(const Poco::Net::SocketAddress& address, const std::string& path, const std::string& method = "GET")
{
	auto start = std::chrono::steady_clock::now();
	Poco::Net::HTTPClientSession session(address);
	session.setTimeout(Poco::Timespan(10, 0));
	Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
	session.sendRequest(request);
	Reply reply;
	std::istream& in = session.receiveResponse(reply.response);
	reply.status = reply.response.getStatus();
	Poco::StreamCopier::copyToString(in, reply.body);
	reply.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
	return reply;
}

// Sends `bytes` on a fresh connection and returns all the server answers until it closes.
std::string raw(const Poco::Net::SocketAddress& address, const std::string& bytes)
{
	Poco::Net::StreamSocket socket(address);
	socket.setReceiveTimeout(Poco::Timespan(10, 0));
	socket.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
	std::string answer;
	char buffer[4096];
	for (;;)
	{
		int n = 0;
		try
		{
			n = socket.receiveBytes(buffer, sizeof buffer);
		}
		catch (const Poco::Net::ConnectionResetException&)
		{
			break;
		}
		if (n <= 0)
			break;
		answer.append(buffer, static_cast<std::size_t>(n));
	}
	return answer;
}

// A monitor with two targets after a few rounds, and an admin server showing it.
struct Fixture
{
	Fixture():
		pSettings(Config::SettingsLoader::loadText("{\"bindAddr\": \":1\", \"targets\": [\"" + A + "\", \"" + B + "\"],"
			" \"updateInterval\": 3600, \"adminAddr\": \"127.0.0.1:0\"}", "t.json", {}).settings),
		monitor(pSettings, prober, &counters)
	{
		prober.up(A, 3);
		prober.up(B, 7);
		for (int i = 0; i < 3; ++i)
			monitor.runRound();
		pServer = std::make_unique<Admin::AdminServer>(pSettings->adminAddr, [this] {
			Admin::AdminView view;
			view.pSnapshot = monitor.snapshot();
			view.pSettings = pSettings;
			view.pCounters = &counters;
			return view;
		});
		pServer->start();
	}

	Poco::Net::SocketAddress address() const { return pServer->address(); }

	FakeProber prober;
	Stats::Counters counters;
	std::shared_ptr<const Config::Settings> pSettings;
	Health::HealthMonitor monitor;
	std::unique_ptr<Admin::AdminServer> pServer;
};

// Clients that hold admin connections: `trickling` of them send a request head one byte every
// 250 ms (the head is long enough never to end during the test), `idle` of them send nothing.
class Abusers
{
public:
	Abusers(const Poco::Net::SocketAddress& address, int trickling, int idle)
	{
		for (int i = 0; i < trickling + idle; ++i)
		{
			_sockets.emplace_back(address);
			_sockets.back().setNoDelay(true);
		}
		_trickling = static_cast<std::size_t>(trickling);
		_thread = std::thread([this] { trickle(); });
	}

	~Abusers()
	{
		_stop = true;
		_thread.join();
	}

	int closedByServer() const { return _closed.load(); }

private:
	void trickle()
	{
		const std::string head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: " + std::string(400, 's') + "\r\n\r\n";
		std::vector<bool> closed(_trickling, false);
		for (std::size_t at = 0; !_stop && at < head.size(); ++at)
		{
			for (std::size_t i = 0; i < _trickling; ++i)
			{
				if (closed[i])
					continue;
				try
				{
					_sockets[i].sendBytes(&head[at], 1, MSG_NOSIGNAL);
				}
				catch (const Poco::Exception&)
				{
					closed[i] = true;
					++_closed;
				}
			}
			for (int slice = 0; slice < 25 && !_stop; ++slice)
				std::this_thread::sleep_for(10ms);
		}
	}

	std::vector<Poco::Net::StreamSocket> _sockets;
	std::size_t _trickling = 0;
	std::atomic<bool> _stop{false};
	std::atomic<int> _closed{0};
	std::thread _thread;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(admin_server_tests, Fixture)

BOOST_AUTO_TEST_CASE(healthz_readyz_and_metrics_answer_while_64_slow_and_16_idle_clients_hold_the_port)
{
	// The requirement is an answer within 1 s; the bound is 2 s so that a loaded machine does not
	// fail it. Before the fix, 2 threads and a queue of 16 meant the probes waited for the
	// tricklers (seconds) or were closed at once (the queue was full).
	Abusers abusers(address(), 64, 16);
	std::this_thread::sleep_for(1s); // let them all be accepted and trickle for a while (not a wait for a result)
	for (const std::string path : {"/healthz", "/readyz", "/metrics", "/healthz"})
	{
		Reply reply;
		try
		{
			reply = get(address(), path);
		}
		catch (const Poco::Exception& error)
		{
			BOOST_FAIL(path + " failed while the slow clients held the port: " + error.displayText());
		}
		BOOST_TEST(reply.status == 200, path);
		BOOST_TEST(reply.took.count() < 2000, path << " took " << reply.took.count() << " ms");
	}
	BOOST_TEST(abusers.closedByServer() == 0); // all still held: the answers did not come from closing them
}

BOOST_AUTO_TEST_CASE(a_request_head_has_one_deadline_however_it_trickles)
{
	// One byte every 250 ms never lets a per-read timeout expire; the head deadline still does.
	auto start = std::chrono::steady_clock::now();
	Abusers abusers(address(), 1, 0);
	BOOST_TEST(waitFor([&] { return abusers.closedByServer() == 1; }, 15s));
	auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
	BOOST_TEST(took >= Admin::AdminServer::HEAD_DEADLINE.count() - 100);
	BOOST_TEST(took < Admin::AdminServer::HEAD_DEADLINE.count() + 5000);
}

BOOST_AUTO_TEST_CASE(malformed_requests_are_answered_400_and_closed)
{
	std::string garbage = raw(address(), "\x01\x02\x03 nonsense\r\n\r\n");
	BOOST_TEST(garbage.rfind("HTTP/1.1 400", 0) == 0u, garbage);
	std::string longName = raw(address(), "GET /healthz HTTP/1.1\r\n" + std::string(300, 'n') + ": x\r\n\r\n");
	BOOST_TEST(longName.rfind("HTTP/1.1 400", 0) == 0u, longName);
	std::string huge = raw(address(), "GET /healthz HTTP/1.1\r\nX-Long: " + std::string(20000, 'x') + "\r\n\r\n");
	BOOST_TEST(huge.rfind("HTTP/1.1 400", 0) == 0u, huge.substr(0, 200));
	// and the endpoint still serves, bare newlines included, as POCO's parser allows
	BOOST_TEST(get(address(), "/healthz").status == 200);
	std::string bare = raw(address(), "GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n");
	BOOST_TEST(bare.rfind("HTTP/1.1 200", 0) == 0u, bare);
}

BOOST_AUTO_TEST_CASE(keep_alive_and_pipelined_requests_are_answered_in_order)
{
	std::string answers = raw(address(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
		"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	std::size_t ok = answers.find("\r\n\r\nok\n");
	std::size_t ready = answers.find("\r\n\r\nready\n");
	std::size_t notFound = answers.find("HTTP/1.1 404");
	BOOST_TEST(ok != std::string::npos, answers);
	BOOST_TEST(ready > ok);
	BOOST_TEST((notFound != std::string::npos && notFound > ready), answers);

	Poco::Net::HTTPClientSession session(address());
	session.setTimeout(Poco::Timespan(10, 0));
	session.setKeepAlive(true);
	for (int i = 0; i < 3; ++i)
	{
		Poco::Net::HTTPRequest request("GET", "/status", Poco::Net::HTTPMessage::HTTP_1_1);
		session.sendRequest(request);
		Poco::Net::HTTPResponse response;
		std::string body;
		Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
		BOOST_TEST(response.getStatus() == 200);
		BOOST_TEST(response.getKeepAlive());
	}
}

BOOST_AUTO_TEST_CASE(the_status_page_is_html_with_a_csp_that_forbids_other_origins)
{
	Reply page = get(address(), "/");
	BOOST_TEST(page.status == 200);
	BOOST_TEST(page.response.getContentType() == "text/html; charset=utf-8");
	BOOST_TEST(page.response.get("Cache-Control") == "no-store");
	std::string csp = page.response.get("Content-Security-Policy", "");
	BOOST_TEST(csp.find("default-src 'none'") != std::string::npos, csp);
	BOOST_TEST(csp.find("connect-src 'self'") != std::string::npos, csp);
	BOOST_TEST(csp.find("img-src 'self' data:") != std::string::npos, csp);
	BOOST_TEST(csp.find("http") == std::string::npos, csp); // no other origin named
	BOOST_TEST(csp.find("unsafe-inline") == std::string::npos, csp);
	// the script and the style carry the nonce that the policy allows, a fresh one per response
	std::size_t at = csp.find("script-src 'nonce-");
	BOOST_TEST_REQUIRE(at != std::string::npos, csp);
	std::string nonce = csp.substr(at + 18, csp.find('\'', at + 18) - at - 18);
	BOOST_TEST(nonce.size() >= 22u, nonce);
	BOOST_TEST(page.body.find("<script nonce=\"" + nonce + "\">") != std::string::npos);
	BOOST_TEST(page.body.find("<style nonce=\"" + nonce + "\">") != std::string::npos);
	BOOST_TEST(page.body.find("{{NONCE}}") == std::string::npos);
	BOOST_TEST(get(address(), "/").response.get("Content-Security-Policy") != csp);
	// self-contained: nothing fetched from elsewhere
	for (const std::string external : {" src=", " href=", "@import", "url(", "https:", "//cdn"})
		BOOST_TEST(page.body.find(external) == std::string::npos, external);
	BOOST_TEST(page.body.find("<meta name=\"viewport\"") != std::string::npos);

	Reply head = get(address(), "/", "HEAD");
	BOOST_TEST(head.status == 200);
	BOOST_TEST(head.body.empty());
	BOOST_TEST(get(address(), "/", "POST").status == 405);
}

BOOST_AUTO_TEST_CASE(status_carries_the_ranking_and_the_history)
{
	Reply status = get(address(), "/status");
	BOOST_TEST(status.status == 200);
	BOOST_TEST(status.body.find("\"ranking\"") != std::string::npos, status.body);
	BOOST_TEST(status.body.find("\"history\"") != std::string::npos);
	BOOST_TEST(status.body.find("\"rounds\"") != std::string::npos);
	BOOST_TEST(status.body.find("\"event\": \"best\"") != std::string::npos, status.body);
	BOOST_TEST(status.body.find("\"event\": \"up\"") != std::string::npos);
	// the existing fields stay
	for (const std::string field : {"\"version\"", "\"state\"", "\"best\"", "\"targets\"", "\"connections\"", "\"pool\""})
		BOOST_TEST(status.body.find(field) != std::string::npos, field);
}

BOOST_AUTO_TEST_SUITE_END()
