#pragma once

#include <string>

namespace ForwardOptimal {
namespace Admin {

/// The live status page served at GET / on the admin endpoint: one self-contained HTML file
/// (src/admin/status_page.html, embedded at build time) whose own script fetches /status every
/// two seconds and draws the targets, their latency history (SVG), the state changes, sessions,
/// refusals and pool counters. Nothing is loaded from another origin: the Content-Security-
/// Policy allows only this origin's /status and the page's own inline script and style, which
/// carry a fresh nonce per response.
class StatusPage
{
public:
	static const char* const CONTENT_TYPE;
		/// "text/html; charset=utf-8"

	static std::string newNonce();
		/// 128 random bits, base64: for one response.

	static std::string html(const std::string& nonce);
		/// The page with `nonce` on its <script> and <style>.

	static std::string contentSecurityPolicy(const std::string& nonce);
		/// default-src 'none'; script and style only with `nonce`; connect-src 'self'; ...
};

} } // namespace ForwardOptimal::Admin
