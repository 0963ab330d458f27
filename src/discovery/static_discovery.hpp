#pragma once
// Layer 7 (discovery): the in-process backend, with limits a test can lower.

#include <cstddef>
#include <memory>

#include "discovery/limits.hpp"
#include "pseud/discovery.hpp"

namespace pseud::detail::discovery {

struct StaticLimits {
  std::size_t records_per_service = max_records_per_service;
  std::size_t records_total = max_records_total;
  std::size_t watches = max_watches;
};

/// A new, empty in-process table bounded by `limits`.
std::shared_ptr<Discovery> make_static_discovery(const StaticLimits& limits);

}  // namespace pseud::detail::discovery
