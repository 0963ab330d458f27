#pragma once
// Layer 4 (observe): the counters of each function, per direction, that a
// peer's engine and workers count into and Peer::metrics() reads. Bounded:
// at most `max_functions` names per direction get counters of their own;
// the calls of any further name count under "(other)". Entries are never
// removed, so a pointer to one stays valid as long as the table.

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "observe/latency_histogram.hpp"
#include "pseud/metrics.hpp"

namespace pseud::detail {

/// One function's counters in one direction. Any thread, no lock.
struct FunctionCounters {
  std::atomic<std::uint64_t> calls{0}, errors{0}, timeouts{0}, refused{0};
  std::atomic<std::int64_t> in_flight{0};
  LatencyHistogram latency;

  void started() noexcept { in_flight.fetch_add(1, std::memory_order_relaxed); }
  /// A call ended; `was_started` when started() counted it in flight.
  void ended(CallOutcome outcome, std::chrono::nanoseconds duration, bool was_started) noexcept;
};

class MetricsTable {
 public:
  explicit MetricsTable(std::size_t max_functions) : max_functions_(max_functions) {}

  /// The counters of `function`, added when new; "(other)"'s beyond the bound.
  FunctionCounters& counters(CallDirection direction, std::string_view function);
  /// The counters of `function` if it has some, else "(unknown)"'s: for
  /// names nobody vouched for (a caller may make up any number of them).
  FunctionCounters& existing_or_unknown(std::string_view function);

  MetricsSnapshot snapshot() const;

 private:
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using Entries = std::unordered_map<std::string, std::unique_ptr<FunctionCounters>, NameHash, std::equal_to<>>;

  Entries& entries(CallDirection direction) noexcept {
    return direction == CallDirection::incoming ? incoming_ : outgoing_;
  }

  const std::size_t max_functions_;
  mutable std::shared_mutex mutex_;
  Entries incoming_, outgoing_;
  FunctionCounters incoming_other_, outgoing_other_, unknown_;
};

}  // namespace pseud::detail
