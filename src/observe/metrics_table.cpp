#include "observe/metrics_table.hpp"

#include <algorithm>
#include <mutex>

namespace pseud::detail {

void FunctionCounters::ended(CallOutcome outcome, std::chrono::nanoseconds duration, bool was_started) noexcept {
  if (was_started) in_flight.fetch_sub(1, std::memory_order_relaxed);
  calls.fetch_add(1, std::memory_order_relaxed);
  if (outcome != CallOutcome::ok) errors.fetch_add(1, std::memory_order_relaxed);
  if (outcome == CallOutcome::timeout) timeouts.fetch_add(1, std::memory_order_relaxed);
  if (outcome == CallOutcome::refused) refused.fetch_add(1, std::memory_order_relaxed);
  latency.record(duration);
}

FunctionCounters& MetricsTable::counters(CallDirection direction, std::string_view function) {
  Entries& table = entries(direction);
  {
    std::shared_lock lock(mutex_);
    if (auto it = table.find(function); it != table.end()) return *it->second;
  }
  std::unique_lock lock(mutex_);
  if (auto it = table.find(function); it != table.end()) return *it->second;
  if (table.size() >= max_functions_) return direction == CallDirection::incoming ? incoming_other_ : outgoing_other_;
  return *table.emplace(std::string(function), std::make_unique<FunctionCounters>()).first->second;
}

FunctionCounters& MetricsTable::existing_or_unknown(std::string_view function) {
  std::shared_lock lock(mutex_);
  if (auto it = incoming_.find(function); it != incoming_.end()) return *it->second;
  return unknown_;
}

namespace {

FunctionMetrics read(CallDirection direction, std::string_view name, const FunctionCounters& counters) {
  FunctionMetrics out;
  out.direction = direction;
  out.function = std::string(name);
  out.calls = counters.calls.load(std::memory_order_relaxed);
  out.errors = counters.errors.load(std::memory_order_relaxed);
  out.timeouts = counters.timeouts.load(std::memory_order_relaxed);
  out.refused = counters.refused.load(std::memory_order_relaxed);
  out.in_flight = static_cast<std::uint64_t>(std::max<std::int64_t>(0, counters.in_flight.load(std::memory_order_relaxed)));
  out.p50 = counters.latency.quantile(0.50);
  out.p90 = counters.latency.quantile(0.90);
  out.p99 = counters.latency.quantile(0.99);
  out.max = counters.latency.max();
  return out;
}

bool used(const FunctionCounters& counters) {
  return counters.calls.load(std::memory_order_relaxed) > 0 || counters.in_flight.load(std::memory_order_relaxed) > 0;
}

}  // namespace

MetricsSnapshot MetricsTable::snapshot() const {
  MetricsSnapshot snapshot;
  std::shared_lock lock(mutex_);
  snapshot.functions.reserve(incoming_.size() + outgoing_.size() + 3);
  for (const auto& [name, counters] : incoming_) snapshot.functions.push_back(read(CallDirection::incoming, name, *counters));
  for (const auto& [name, counters] : outgoing_) snapshot.functions.push_back(read(CallDirection::outgoing, name, *counters));
  if (used(unknown_)) snapshot.functions.push_back(read(CallDirection::incoming, metrics_unknown, unknown_));
  if (used(incoming_other_)) snapshot.functions.push_back(read(CallDirection::incoming, metrics_other, incoming_other_));
  if (used(outgoing_other_)) snapshot.functions.push_back(read(CallDirection::outgoing, metrics_other, outgoing_other_));
  lock.unlock();
  std::sort(snapshot.functions.begin(), snapshot.functions.end(), [](const FunctionMetrics& a, const FunctionMetrics& b) {
    if (a.direction != b.direction) return a.direction == CallDirection::incoming;
    return a.function < b.function;
  });
  return snapshot;
}

}  // namespace pseud::detail
