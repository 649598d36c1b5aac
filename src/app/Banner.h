#pragma once

#include <string>
#include <vector>

namespace ForwardOptimal {
namespace App {

/// The start-up banner of the spec, and the terminal-width arithmetic it needs: CJK characters
/// and emoji take two columns, so padding by bytes or by code points would skew the box.
class Banner
{
public:
	static std::string render(const std::string& version, const std::string& buildDate,
		const std::string& commit, const std::string& author);
		/// The boxed banner, one line per row, rows joined with '\n', no trailing newline.

	static std::string box(const std::vector<std::string>& rows, std::size_t minInnerWidth);
		/// Draws rows inside a double-line box; a row that starts with '^' is centred.
		/// The box grows if a row does not fit.

	static std::size_t displayWidth(const std::string& utf8);
		/// Terminal columns the UTF-8 text occupies (East Asian wide and emoji: 2,
		/// combining marks and variation selectors: 0, everything else: 1).
};

} } // namespace ForwardOptimal::App
