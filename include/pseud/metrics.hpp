#pragma once
/// Metrics per function: calls, errors, in flight and a latency histogram, for
/// the calls a peer answers and the calls it makes. Read with Peer::metrics(),
/// remotely through the reserved function pseud.metrics, or with
/// `pseud stats ENDPOINT`.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>

#include "pseud/interceptor.hpp"

namespace pseud {

/// The reserved function answering a peer's metrics (see metrics_domain).
inline constexpr std::string_view metrics_function = "pseud.metrics";
/// The domain pseud.metrics lives in. Its predicate is
/// PeerOptions::metrics_access; without one, no remote caller reaches it
/// (the caller gets ServiceNotFoundError, as for any function it may not see).
inline constexpr std::string_view metrics_domain = "pseud.metrics";

/// Where the calls no function of their own counts go: incoming calls
/// refused under a name that has no entry (no function answers it for the
/// caller: names a caller makes up must not fill the table), "(unknown)";
/// and the names beyond PeerOptions::max_metrics_functions, "(other)".
inline constexpr std::string_view metrics_unknown = "(unknown)";
inline constexpr std::string_view metrics_other = "(other)";

/// One function's counters, in one direction.
struct FunctionMetrics {
  CallDirection direction = CallDirection::incoming;
  std::string function;
  std::uint64_t calls = 0;      ///< calls ended, whatever their outcome
  std::uint64_t errors = 0;     ///< ... of which not ok (every outcome but ok)
  std::uint64_t timeouts = 0;   ///< ... of which timed out (outgoing)
  std::uint64_t refused = 0;    ///< ... of which refused unrun
  std::uint64_t in_flight = 0;  ///< started and not ended now
  /// Latency of the calls ended, from a histogram with 8 buckets per power of
  /// two: each figure is the upper bound of its bucket, at most 12.5 % above
  /// the true value (max is exact). Zero before the first call ended.
  std::chrono::nanoseconds p50{}, p90{}, p99{}, max{};
};

/// Every function a peer has counted, sorted by direction, then name.
struct MetricsSnapshot {
  std::vector<FunctionMetrics> functions;

  /// A copy of the entry for `function` in `direction`, if there is one
  /// (a copy: `peer.metrics().find("add")->calls` reads a snapshot that is gone after the expression).
  std::optional<FunctionMetrics> find(std::string_view function,
                                      CallDirection direction = CallDirection::incoming) const {
    for (const FunctionMetrics& entry : functions) {
      if (entry.direction == direction && entry.function == function) return entry;
    }
    return std::nullopt;
  }
};

/// One row of pseud.metrics' answer, as it travels (protocol/METRICS.md):
/// a map of these named fields. Durations in milliseconds.
struct MetricsReportRow {
  std::string function;
  std::string side;  ///< "incoming" or "outgoing"
  std::uint64_t calls = 0, errors = 0, in_flight = 0, timeouts = 0, refused = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
  MSGPACK_DEFINE_MAP(function, side, calls, errors, in_flight, timeouts, refused, p50_ms, p90_ms, p99_ms, max_ms)
};

/// pseud.metrics' answer: `client.call<pseud::MetricsReport>(pseud::metrics_function)`.
struct MetricsReport {
  std::string peer;  ///< the answering peer's routing id
  std::vector<MetricsReportRow> functions;
  MSGPACK_DEFINE_MAP(peer, functions)
};

/// The answer pseud.metrics gives for `snapshot`, from the peer `peer`.
MetricsReport metrics_report(std::string peer, const MetricsSnapshot& snapshot);

}  // namespace pseud
