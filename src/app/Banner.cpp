#include "app/Banner.h"

#include <algorithm>
#include <cstdint>

namespace ForwardOptimal {
namespace App {

namespace {

constexpr std::size_t BANNER_INNER_WIDTH = 58; // the spec's box

bool isZeroWidth(std::uint32_t cp)
{
	return (cp >= 0x0300 && cp <= 0x036F)      // combining diacritics
		|| (cp >= 0x200B && cp <= 0x200F)      // zero-width space, joiners, marks
		|| (cp >= 0xFE00 && cp <= 0xFE0F)      // variation selectors (emoji presentation)
		|| (cp >= 0xE0100 && cp <= 0xE01EF);
}

bool isWide(std::uint32_t cp)
{
	return (cp >= 0x1100 && cp <= 0x115F)      // Hangul Jamo
		|| (cp >= 0x2E80 && cp <= 0x303E)      // CJK radicals, punctuation
		|| (cp >= 0x3041 && cp <= 0x33FF)      // kana, CJK symbols
		|| (cp >= 0x3400 && cp <= 0x4DBF)      // CJK extension A
		|| (cp >= 0x4E00 && cp <= 0x9FFF)      // CJK unified ideographs
		|| (cp >= 0xA000 && cp <= 0xA4CF)      // Yi
		|| (cp >= 0xAC00 && cp <= 0xD7A3)      // Hangul syllables
		|| (cp >= 0xF900 && cp <= 0xFAFF)      // CJK compatibility ideographs
		|| (cp >= 0xFE30 && cp <= 0xFE4F)      // CJK compatibility forms
		|| (cp >= 0xFF00 && cp <= 0xFF60)      // full-width forms
		|| (cp >= 0xFFE0 && cp <= 0xFFE6)
		|| (cp >= 0x1F300 && cp <= 0x1F64F)    // pictographs, emoticons
		|| (cp >= 0x1F680 && cp <= 0x1F6FF)    // transport and map symbols (🚀)
		|| (cp >= 0x1F900 && cp <= 0x1F9FF)    // supplemental symbols
		|| (cp >= 0x20000 && cp <= 0x3FFFD)    // CJK extensions B and beyond
		|| cp == 0x2705 || cp == 0x274C || cp == 0x23F3 || cp == 0x231B; // ✅ ❌ ⏳ ⌛
}

} // namespace


std::size_t Banner::displayWidth(const std::string& utf8)
{
	std::size_t width = 0;
	for (std::size_t i = 0; i < utf8.size();)
	{
		unsigned char lead = static_cast<unsigned char>(utf8[i]);
		std::size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 1;
		std::uint32_t cp = length == 1 ? lead : (lead & (0xFF >> (length + 1)));
		for (std::size_t k = 1; k < length && i + k < utf8.size(); ++k)
			cp = (cp << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3F);
		i += length;
		if (isZeroWidth(cp))
			continue;
		width += isWide(cp) ? 2 : 1;
	}
	return width;
}


std::string Banner::box(const std::vector<std::string>& rows, std::size_t minInnerWidth)
{
	std::size_t inner = minInnerWidth;
	for (const auto& row : rows)
	{
		bool centred = !row.empty() && row[0] == '^';
		inner = std::max(inner, displayWidth(centred ? row.substr(1) : row) + 2);
	}

	std::string horizontal;
	for (std::size_t i = 0; i < inner; ++i)
		horizontal += "═";

	std::string out = "╔" + horizontal + "╗\n";
	for (const auto& row : rows)
	{
		bool centred = !row.empty() && row[0] == '^';
		std::string text = centred ? row.substr(1) : row;
		std::size_t free = inner - displayWidth(text);
		std::size_t left = centred ? free / 2 : 0;
		out += "║" + std::string(left, ' ') + text + std::string(free - left, ' ') + "║\n";
	}
	out += "╚" + horizontal + "╝";
	return out;
}


std::string Banner::render(const std::string& version, const std::string& buildDate,
	const std::string& commit, const std::string& author)
{
	return box({
			"^ForwardOptimal v" + version,
			"^智能负载均衡TCP转发代理服务器",
			"",
			"  特性: 健康检查 | 智能路由 | 连接池 | Proxy Protocol",
			"  作者: " + author,
			"  构建: " + buildDate + " (" + commit + ")",
		},
		BANNER_INNER_WIDTH);
}

} } // namespace ForwardOptimal::App
