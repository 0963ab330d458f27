// The libFuzzer entry point of one target; PSEUD_FUZZ_FUNCTION names it
// (set per executable by meson.build).

#include <cstddef>
#include <cstdint>

#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return pseud::fuzz::PSEUD_FUZZ_FUNCTION(data, size);
}
