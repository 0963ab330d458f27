#include "measure.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

namespace bench {

namespace {

template <class T>
double nearest_rank(std::vector<T>& values, double q) {
  if (values.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  const std::size_t index = rank == 0 ? 0 : std::min(rank, values.size()) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index), values.end());
  return static_cast<double>(values[index]);
}

}  // namespace

double quantile(std::vector<double>& values, double q) { return nearest_rank(values, q); }
double quantile(std::vector<std::int64_t>& values, double q) { return nearest_rank(values, q); }

Measurement summarise(std::vector<Recorder>& peers, std::chrono::milliseconds duration) {
  std::vector<std::int64_t> all;
  for (Recorder& peer : peers) all.insert(all.end(), peer.latencies().begin(), peer.latencies().end());
  Measurement m;
  m.calls = all.size();
  m.p50_us = quantile(all, 0.50) / 1000.0;
  m.p99_us = quantile(all, 0.99) / 1000.0;
  m.calls_per_s = static_cast<double>(all.size()) / std::chrono::duration<double>(duration).count();
  m.rss_kib = vm_rss_kib();
  return m;
}

long vm_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

std::string to_result_line(const Measurement& m) {
  char text[200];
  std::snprintf(text, sizeof text, "calls=%llu p50_us=%.3f p99_us=%.3f calls_per_s=%.1f rss_kib=%ld",
                static_cast<unsigned long long>(m.calls), m.p50_us, m.p99_us, m.calls_per_s, m.rss_kib);
  return text;
}

bool from_result_line(const std::string& line, Measurement& m) {
  unsigned long long calls = 0;
  if (std::sscanf(line.c_str(), "calls=%llu p50_us=%lf p99_us=%lf calls_per_s=%lf rss_kib=%ld", &calls, &m.p50_us,
                  &m.p99_us, &m.calls_per_s, &m.rss_kib) != 5) {
    return false;
  }
  m.calls = calls;
  return true;
}

}  // namespace bench
