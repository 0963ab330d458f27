#pragma once
// What one client process measures in one repetition: per-call latencies of
// the calls that completed inside the measured window, and the process's RSS.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

/// The phases of one repetition: calls before `measure_from` warm up, calls
/// completing in [measure_from, measure_until) are measured, none start after.
struct Window {
  Clock::time_point measure_from;
  Clock::time_point measure_until;

  static Window starting_now(std::chrono::milliseconds warmup, std::chrono::milliseconds duration) {
    const auto from = Clock::now() + warmup;
    return {from, from + duration};
  }
  bool measures(Clock::time_point done) const noexcept { return done >= measure_from && done < measure_until; }
  bool over(Clock::time_point now) const noexcept { return now >= measure_until; }

  /// Throughput mode calls this when the first window of calls has come
  /// back: if that took longer than the warm-up, the measurement starts now,
  /// so it never includes the first burst (64 KiB over CURVE can take ~1 s).
  void settle(Clock::time_point now) noexcept {
    if (now <= measure_from) return;
    measure_until = now + (measure_until - measure_from);
    measure_from = now;
  }
};

/// Latencies of one peer (one thread writes them).
class Recorder {
 public:
  explicit Recorder(std::size_t expected = 1u << 16) { latencies_ns_.reserve(expected); }
  void record(const Window& window, Clock::time_point sent, Clock::time_point done) {
    if (window.measures(done)) latencies_ns_.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(done - sent).count());
  }
  std::vector<std::int64_t>& latencies() noexcept { return latencies_ns_; }

 private:
  std::vector<std::int64_t> latencies_ns_;
};

/// The figures of one repetition of one impl.
struct Measurement {
  std::uint64_t calls = 0;  ///< completed inside the measured window
  double p50_us = 0;
  double p99_us = 0;
  double calls_per_s = 0;
  long rss_kib = 0;
};

/// Merges the peers' latencies into one Measurement over `duration`.
Measurement summarise(std::vector<Recorder>& peers, std::chrono::milliseconds duration);

/// The `q` quantile (0..1, nearest rank) of `values`, which it reorders.
double quantile(std::vector<double>& values, double q);
double quantile(std::vector<std::int64_t>& values, double q);

/// This process's VmRSS from /proc/self/status, in KiB (0 when unreadable).
long vm_rss_kib();

/// "calls=.. p50_us=.. ...": how a client process hands its figures to the driver.
std::string to_result_line(const Measurement& m);
/// Parses to_result_line()'s text; false when a field is missing or malformed.
bool from_result_line(const std::string& line, Measurement& m);

}  // namespace bench
