// The live status page (issue 15.3) in a real browser: Debian's chromium, headless, loads GET /
// from the real binary; after the page's own script ran, the DOM names every target and the
// best one. Screenshots (desktop and phone widths) are written to the test's working directory
// (build/tests/status_page*.png) for a person to look at. Without chromium the test exits 77.
#include "Backend.h"
#include "RunningProxy.h"
#include "TestSupport.h"

#include "Poco/JSON/Object.h"
#include "Poco/JSON/Parser.h"
#include "Poco/Net/HTTPClientSession.h"
#include "Poco/Net/HTTPRequest.h"
#include "Poco/Net/HTTPResponse.h"
#include "Poco/Net/ServerSocket.h"
#include "Poco/StreamCopier.h"
#include "Poco/URI.h"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <iostream>
#include <optional>

using namespace ForwardOptimal::Test;

namespace {

Poco::JSON::Object::Ptr status(const std::string& admin)
{
	Poco::URI uri("http://" + admin);
	Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
	session.setTimeout(Poco::Timespan(10, 0));
	Poco::Net::HTTPRequest request("GET", "/status", Poco::Net::HTTPMessage::HTTP_1_1);
	session.sendRequest(request);
	Poco::Net::HTTPResponse response;
	std::string body;
	Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
	return Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
}

std::string best(const std::string& admin)
{
	auto pStatus = status(admin);
	return pStatus->isNull("best") ? std::string() : pStatus->getValue<std::string>("best");
}

// chromium's headless shell, or exit 77 where it cannot run.
struct Browser
{
	Browser()
	{
		std::string out, err;
		if (ChildProcess::run({"/bin/sh", "-c", "command -v chromium"}, out, err) != 0 || out.empty())
			skip("chromium is not installed (apt-get install chromium)");
		binary = out.substr(0, out.find('\n'));
		int code = run({"--dump-dom", "about:blank"}, out, err);
		if (code != 0 || out.find("<html") == std::string::npos)
			skip("chromium cannot run here (exit " + std::to_string(code) + "): " + err.substr(0, 400));
	}

	static void skip(const std::string& why)
	{
		std::cout << "SKIPPED: " << why << std::endl;
		std::exit(77);
	}

	int run(std::vector<std::string> arguments, std::string& out, std::string& err)
	{
		std::vector<std::string> argv = {binary, "--headless=new", "--no-sandbox", "--disable-gpu",
			"--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=" + profile.path(), "--virtual-time-budget=4000"};
		argv.insert(argv.end(), arguments.begin(), arguments.end());
		return ChildProcess::run(argv, out, err, std::chrono::milliseconds(90000));
	}

	std::string binary;
	TempDir profile;
};

} // namespace

BOOST_AUTO_TEST_SUITE(status_page_tests)

BOOST_AUTO_TEST_CASE(the_page_names_every_target_and_the_best_in_a_real_browser)
{
	Browser browser;
	std::optional<Backend> pFirst(std::in_place, Backend::echo());
	Backend second(Backend::echo());
	std::string dead;
	{
		Poco::Net::ServerSocket closed(Poco::Net::SocketAddress("127.0.0.1:0"));
		dead = closed.address().toString(); // nothing listens there once closed: refused
	}
	std::string first = pFirst->address();
	SettingsBuilder settings = SettingsBuilder::loopback({first, second.address(), dead});
	settings.set("updateInterval", 0.2).set("failureInterval", 0.2);
	RunningProxy fo(settings);
	std::string admin = fo.adminAddress();
	BOOST_TEST_REQUIRE(!admin.empty(), fo.log());

	// Some history: a few rounds, then the first backend stops, so the page has a down band,
	// a best change with its reason, and a later best.
	BOOST_TEST_REQUIRE(waitFor([&] { return status(admin)->getValue<int>("healthRounds") >= 8; }, 20s));
	pFirst.reset();
	BOOST_TEST_REQUIRE(waitFor([&] { return best(admin) == second.address(); }, 20s), best(admin));
	BOOST_TEST_REQUIRE(waitFor([&] { return status(admin)->getValue<int>("healthRounds") >= 16; }, 20s));

	std::string out, err;
	BOOST_TEST_REQUIRE(browser.run({"--dump-dom", "http://" + admin + "/"}, out, err) == 0, err);
	std::size_t box = out.find("id=\"best\"");
	BOOST_TEST_REQUIRE(box != std::string::npos, out);
	std::string bestBox = out.substr(box, out.find("</section>", box) - box);
	BOOST_TEST(bestBox.find(second.address()) != std::string::npos, bestBox);
	BOOST_TEST(bestBox.find("the only healthy target") != std::string::npos, bestBox); // and not "vs runner-up"
	std::size_t table = out.find("id=\"targets\"");
	BOOST_TEST_REQUIRE(table != std::string::npos);
	for (const std::string& target : {first, second.address(), dead})
		BOOST_TEST(out.find(target, table) != std::string::npos, target);
	BOOST_TEST(out.find("data-rendered=") != std::string::npos); // the script ran and drew
	BOOST_TEST(out.find("<path d=\"M") != std::string::npos);    // a latency line in the SVG chart
	BOOST_TEST(out.find("class=\"band-down\"") != std::string::npos);
	BOOST_TEST(out.find("class=\"pill best\">best<") != std::string::npos);
	BOOST_TEST(out.find("id=\"state\" class=\"pill serving\">serving<") != std::string::npos); // /status was fetched (CSP connect-src allowed it)

	for (const auto& shot : {std::make_pair("status_page.png", "1280,1500"), std::make_pair("status_page_phone.png", "390,2200")})
	{
		std::string file = (std::filesystem::current_path() / shot.first).string();
		std::filesystem::remove(file);
		BOOST_TEST(browser.run({"--screenshot=" + file, "--window-size=" + std::string(shot.second), "--hide-scrollbars",
			"http://" + admin + "/"}, out, err) == 0, err);
		BOOST_TEST(std::filesystem::exists(file), file);
		BOOST_TEST_MESSAGE("screenshot: " << file);
	}
}

BOOST_AUTO_TEST_SUITE_END()
