// Runs every fuzz target, without a fuzzing engine, on its golden-vector
// seeds, its committed corpus (tests/fuzz/corpus/<target>/) and every input
// that ever broke it (tests/fuzz/regressions/<target>/). A broken property
// aborts the process and names the input.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <iostream>

#include <gtest/gtest.h>

#include "fuzz_input.hpp"
#include "fuzz_targets.hpp"
#include "golden_seeds.hpp"

namespace pseud::fuzz {
namespace {

namespace fs = std::filesystem;

fs::path source_root() {
  const char* root = std::getenv("PSEUD_SOURCE_ROOT");
  return root ? fs::path(root) : fs::path();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void run(const Target& target, const std::string& label, const std::string& bytes) {
  set_input_label(std::string(target.name) + ": " + label);
  target.run(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

// Runs every file in `folder` (none when it does not exist); returns how many.
std::size_t run_folder(const Target& target, const fs::path& folder) {
  if (!fs::is_directory(folder)) return 0;
  std::size_t count = 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (!entry.is_regular_file() || entry.path().filename().string().starts_with('.')) continue;
    run(target, entry.path().string(), read_file(entry.path()));
    ++count;
  }
  return count;
}

class FuzzReplay : public ::testing::TestWithParam<Target> {};

TEST_P(FuzzReplay, SeedsCorpusAndRegressions) {
  const Target& target = GetParam();
  ASSERT_NE(std::getenv("PSEUD_SOURCE_ROOT"), nullptr) << "PSEUD_SOURCE_ROOT is not set (meson test sets it)";
  const auto seeds = golden_seeds(source_root() / "protocol" / "vectors" / "golden.txt");
  std::size_t golden = 0;
  if (auto it = seeds.find(std::string(target.name)); it != seeds.end()) {
    for (const Seed& seed : it->second) run(target, "golden vector " + seed.name, seed.bytes);
    golden = it->second.size();
  }
  const fs::path fuzz_dir = source_root() / "tests" / "fuzz";
  const std::size_t corpus = run_folder(target, fuzz_dir / "corpus" / target.name);
  const std::size_t regressions = run_folder(target, fuzz_dir / "regressions" / target.name);
  run(target, "the empty input", "");
  set_input_label({});
  std::cout << target.name << ": " << golden << " golden seeds, " << corpus << " corpus files, " << regressions
            << " regressions\n";
  EXPECT_GT(golden + corpus, 0u) << "no seeds at all for " << target.name;
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplay, ::testing::ValuesIn(targets),
                         [](const ::testing::TestParamInfo<Target>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace pseud::fuzz
