#include "admin/StatusPage.h"

#include "StatusPageHtml.h"

#include "Poco/Base64Encoder.h"
#include "Poco/RandomStream.h"

#include <sstream>

namespace ForwardOptimal {
namespace Admin {

const char* const StatusPage::CONTENT_TYPE = "text/html; charset=utf-8";


std::string StatusPage::newNonce()
{
	char bytes[16];
	Poco::RandomInputStream random;
	random.read(bytes, sizeof bytes);
	std::ostringstream out;
	Poco::Base64Encoder encoder(out);
	encoder.write(bytes, sizeof bytes);
	encoder.close();
	return out.str();
}


std::string StatusPage::html(const std::string& nonce)
{
	static const std::string PLACEHOLDER = "{{NONCE}}";
	std::string page = Generated::STATUS_PAGE_HTML;
	for (std::size_t at = page.find(PLACEHOLDER); at != std::string::npos; at = page.find(PLACEHOLDER, at + nonce.size()))
		page.replace(at, PLACEHOLDER.size(), nonce);
	return page;
}


std::string StatusPage::contentSecurityPolicy(const std::string& nonce)
{
	return "default-src 'none'; script-src 'nonce-" + nonce + "'; style-src 'nonce-" + nonce + "'; connect-src 'self'; "
		"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}

} } // namespace ForwardOptimal::Admin
