// The files operators deploy with: the systemd unit passes `systemd-analyze verify` without a
// single remark, the configuration inside the Kubernetes manifest passes `--check`, and the
// Dockerfile's HEALTHCHECK points at the admin address the image's configuration uses.
// Without systemd-analyze the test exits 77 (CTest: skipped) and says so.
#include "TestSupport.h"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

#include <unistd.h>

using namespace ForwardOptimal::Test;

namespace {

std::string source(const std::string& relative)
{
	const char* root = std::getenv("FO_SOURCE_DIR");
	BOOST_TEST_REQUIRE(root != nullptr);
	std::ifstream in(std::string(root) + "/" + relative);
	BOOST_TEST_REQUIRE(in.good(), relative);
	std::ostringstream text;
	text << in.rdbuf();
	return text.str();
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to)
{
	for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
		text.replace(at, from.size(), to);
	return text;
}

} // namespace

BOOST_AUTO_TEST_SUITE(packaging_tests)

BOOST_AUTO_TEST_CASE(systemd_unit_verifies_cleanly)
{
	if (::access("/usr/bin/systemd-analyze", X_OK) != 0)
	{
		std::cout << "SKIPPED: systemd-analyze is not installed" << std::endl;
		std::exit(77);
	}
	TempDir dir;
	// Point it at the binary under test; verify checks that the commands exist.
	std::string unit = dir.write("forwardoptimal.service",
		replaceAll(source("etc/systemd/forwardoptimal.service"), "/usr/local/bin/ForwardOptimal", binaryPath()));
	std::string out, err;
	int code = ChildProcess::run({"/usr/bin/systemd-analyze", "verify", unit}, out, err);
	BOOST_TEST(code == 0, err);
	BOOST_TEST(out + err == "", out + err); // unknown keys are only remarks, but remarks are bugs here
	std::string text = source("etc/systemd/forwardoptimal.service");
	for (const char* line : {"Type=simple", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure", "DynamicUser=yes",
			"NoNewPrivileges=yes", "ProtectSystem=strict"})
		BOOST_TEST(text.find(line) != std::string::npos, line);
}

BOOST_AUTO_TEST_CASE(kubernetes_config_map_holds_a_valid_configuration)
{
	std::string manifest = source("etc/kubernetes/forwardoptimal.yaml");
	std::size_t start = manifest.find("config.json: |\n");
	BOOST_TEST_REQUIRE(start != std::string::npos);
	std::istringstream lines(manifest.substr(start + 15));
	std::string json;
	for (std::string line; std::getline(lines, line) && line.rfind("    ", 0) == 0;)
		json += line.substr(4) + "\n";
	TempDir dir;
	std::string out, err;
	int code = ChildProcess::run({binaryPath(), "-c", dir.write("config.json", json), "--check"}, out, err);
	BOOST_TEST(code == 0, json << err);
	BOOST_TEST(out.find("\"adminAddr\": \":9090\"") != std::string::npos, out); // kubelet must reach the probes
	BOOST_TEST(manifest.find("path: /readyz") != std::string::npos);
	BOOST_TEST(manifest.find("path: /healthz") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(kubernetes_inbound_proxy_variant_is_a_valid_configuration)
{
	// The commented variant's keys ("#      \"key\": value,"), put into the ConfigMap's configuration.
	std::string manifest = source("etc/kubernetes/forwardoptimal.yaml");
	std::size_t start = manifest.find("config.json: |\n");
	BOOST_TEST_REQUIRE(start != std::string::npos);
	std::istringstream lines(manifest.substr(start + 15));
	std::string json;
	for (std::string line; std::getline(lines, line) && line.rfind("    ", 0) == 0;)
		json += line.substr(4) + "\n";
	std::string variant;
	std::istringstream all(manifest);
	for (std::string line; std::getline(all, line);)
		if (line.rfind("#      \"", 0) == 0)
			variant += line.substr(7) + "\n";
	BOOST_TEST_REQUIRE(variant.find("\"acceptProxyProtocol\"") != std::string::npos, manifest);
	json.replace(json.find("\"proxyProtocol\": \"\","), std::string("\"proxyProtocol\": \"\",").size(), "");
	json.insert(json.find('{') + 1, "\n" + variant);
	TempDir dir;
	std::string out, err;
	int code = ChildProcess::run({binaryPath(), "-c", dir.write("config.json", json), "--check"}, out, err);
	BOOST_TEST(code == 0, json << err);
	BOOST_TEST(out.find("\"acceptProxyProtocol\": \"any\"") != std::string::npos, out);
}

BOOST_AUTO_TEST_CASE(docker_healthcheck_matches_the_images_admin_address)
{
	std::string dockerfile = source("Dockerfile");
	std::string config = source("etc/docker.json");
	const std::string key = "\"adminAddr\": \"";
	std::size_t at = config.find(key);
	BOOST_TEST_REQUIRE(at != std::string::npos, "no adminAddr in etc/docker.json");
	at += key.size();
	std::string admin = config.substr(at, config.find('"', at) - at);
	BOOST_TEST_REQUIRE(!admin.empty());
	BOOST_TEST(dockerfile.find("--health-check=http://" + admin + "/healthz") != std::string::npos);
	BOOST_TEST(dockerfile.find("USER forwardoptimal") != std::string::npos);
	BOOST_TEST(dockerfile.find("STOPSIGNAL SIGTERM") != std::string::npos);
	BOOST_TEST(dockerfile.find("ENTRYPOINT [\"/usr/local/bin/ForwardOptimal\"]") != std::string::npos); // exec form: PID 1
}

BOOST_AUTO_TEST_SUITE_END()
