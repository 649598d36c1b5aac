#pragma once

#include <cstddef>
#include <cstdint>

namespace ForwardOptimal {
namespace Test {

/// The byte at `offset` of an endless test stream. Every byte depends on its position, so a
/// byte lost, duplicated, reordered or corrupted anywhere shows up as a mismatch at once.
inline std::uint8_t patternByte(std::uint64_t offset)
{
	std::uint64_t x = offset * 0x9E3779B97F4A7C15ull;
	return static_cast<std::uint8_t>((x >> 56) ^ (offset >> 8));
}

/// Fills `data[0..size)` with the stream from `offset` on.
inline void fillPattern(char* data, std::size_t size, std::uint64_t offset)
{
	for (std::size_t i = 0; i < size; ++i)
		data[i] = static_cast<char>(patternByte(offset + i));
}

/// True if `data[0..size)` is the stream from `offset` on.
inline bool matchesPattern(const char* data, std::size_t size, std::uint64_t offset)
{
	for (std::size_t i = 0; i < size; ++i)
		if (static_cast<std::uint8_t>(data[i]) != patternByte(offset + i))
			return false;
	return true;
}

} } // namespace ForwardOptimal::Test
