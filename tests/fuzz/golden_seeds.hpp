#pragma once
// Seed inputs for each fuzz target, derived from the golden vectors
// (protocol/vectors/golden.txt): the captured frame sets, their bodies, and
// the tool's JSON for those bodies.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace pseud::fuzz {

struct Seed {
  std::string name;   ///< the vector's name, usable as a file name
  std::string bytes;  ///< the input
};

/// Seeds by target name. Throws std::runtime_error when the file cannot be
/// read or a vector has no usable "frames" field.
std::map<std::string, std::vector<Seed>> golden_seeds(const std::filesystem::path& golden_file);

}  // namespace pseud::fuzz
