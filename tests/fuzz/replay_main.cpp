// Runs a fuzz target's LLVMFuzzerTestOneInput once on each file named on the command line (a
// directory: each file in it, in name order), without libFuzzer: the normal test build replays
// the committed corpus with it, so every input that once found a bug stays a test.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv)
{
	namespace fs = std::filesystem;
	std::vector<fs::path> inputs;
	for (int i = 1; i < argc; ++i)
	{
		fs::path path(argv[i]);
		if (fs::is_directory(path))
		{
			for (const auto& entry : fs::directory_iterator(path))
				if (entry.is_regular_file())
					inputs.push_back(entry.path());
		}
		else
			inputs.push_back(path);
	}
	std::sort(inputs.begin(), inputs.end());
	if (inputs.empty())
	{
		std::cerr << "usage: " << argv[0] << " FILE|DIRECTORY...: no input given or found\n";
		return 2;
	}
	for (const auto& path : inputs)
	{
		std::ifstream in(path, std::ios::binary);
		if (!in)
		{
			std::cerr << "cannot read " << path << "\n";
			return 2;
		}
		std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
		std::cerr << "replaying " << path.filename().string() << " (" << bytes.size() << " bytes)\n";
		LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
	}
	std::cout << inputs.size() << " inputs replayed, no property violated\n";
	return 0;
}
