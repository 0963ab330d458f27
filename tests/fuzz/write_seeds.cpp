// fuzz_seeds GOLDEN_FILE OUT_DIR: writes the golden-vector seeds of every
// target to OUT_DIR/<target>/<vector name>, for libFuzzer to start from.

#include <cstdio>
#include <exception>
#include <fstream>

#include "golden_seeds.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s GOLDEN_FILE OUT_DIR\n", argv[0]);
    return 2;
  }
  try {
    const std::filesystem::path out_dir = argv[2];
    std::size_t written = 0;
    for (const auto& [target, seeds] : pseud::fuzz::golden_seeds(argv[1])) {
      std::filesystem::create_directories(out_dir / target);
      for (const pseud::fuzz::Seed& seed : seeds) {
        std::ofstream(out_dir / target / seed.name, std::ios::binary) << seed.bytes;
        ++written;
      }
    }
    std::printf("%zu seeds written to %s\n", written, out_dir.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_seeds: %s\n", e.what());
    return 1;
  }
}
