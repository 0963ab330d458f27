#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace bench {

namespace {

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::string number(double value, int decimals) {
  if (!std::isfinite(value)) return "null";
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", byte);
      out += escape;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// "transport": .., "payload": .., "mode": .., "window": .., "curve": .., "peers": ..
std::string config_fields(const Config& c) {
  return std::string("\"transport\": \"") + name_of(c.transport) + "\", \"payload\": " + std::to_string(c.payload) +
         ", \"mode\": \"" + name_of(c.mode) + "\", \"window\": " + std::to_string(c.window) +
         ", \"curve\": " + (c.curve ? "true" : "false") + ", \"peers\": " + std::to_string(c.peers) +
         (c.hwm >= 0 ? ", \"hwm\": " + std::to_string(c.hwm) : std::string());
}

double ratio(double pseud, double floor) { return floor > 0 ? pseud / floor : NAN; }

}  // namespace

Measurement medians(const std::vector<Measurement>& reps) {
  if (reps.empty()) return {};
  std::vector<double> calls, p50, p99, rate, rss;
  for (const Measurement& m : reps) {
    calls.push_back(static_cast<double>(m.calls));
    p50.push_back(m.p50_us);
    p99.push_back(m.p99_us);
    rate.push_back(m.calls_per_s);
    rss.push_back(static_cast<double>(m.rss_kib));
  }
  Measurement out;
  out.calls = static_cast<std::uint64_t>(median(calls));
  out.p50_us = median(p50);
  out.p99_us = median(p99);
  out.calls_per_s = median(rate);
  out.rss_kib = static_cast<long>(median(rss));
  return out;
}

std::string result_line(const Config& config, Path path, const Measurement& m, int reps, std::optional<int> rep) {
  std::string line = std::string("{\"impl\": \"") + name_of(path) + "\", " + config_fields(config) +
                     ", \"p50_us\": " + number(m.p50_us, 2) + ", \"p99_us\": " + number(m.p99_us, 2) +
                     ", \"calls_per_s\": " + number(m.calls_per_s, 0) + ", \"rss_kib\": " + std::to_string(m.rss_kib) +
                     ", \"reps\": " + std::to_string(reps);
  if (rep) line += ", \"rep\": " + std::to_string(*rep);
  return line + "}";
}

std::string summary_line(const Config& config, Path path, const std::vector<Measurement>& pseud_reps,
                         const std::vector<Measurement>& floor_reps, int failed_reps) {
  const bool measured = !pseud_reps.empty() && !floor_reps.empty();
  const Measurement pseud = medians(pseud_reps);
  const Measurement floor = medians(floor_reps);
  const double p50 = measured ? ratio(pseud.p50_us, floor.p50_us) : NAN;
  const double p99 = measured ? ratio(pseud.p99_us, floor.p99_us) : NAN;
  const double rate = measured ? ratio(pseud.calls_per_s, floor.calls_per_s) : NAN;
  // The same target judged per repetition: repetition i of the path beside
  // repetition i of the floor (they ran next to each other).
  const auto meets = [&](const Measurement& mine, const Measurement& base) {
    if (config.mode == Mode::latency) return mine.p50_us <= 1.15 * base.p50_us && mine.p99_us <= 1.3 * base.p99_us;
    return mine.calls_per_s >= (config.curve ? 0.9 : 0.8) * base.calls_per_s;
  };
  const std::size_t paired = std::min(pseud_reps.size(), floor_reps.size());
  std::size_t met_reps = 0;
  for (std::size_t i = 0; i < paired; ++i) met_reps += meets(pseud_reps[i], floor_reps[i]) ? 1 : 0;
  const bool judged = config.transport != Transport::inproc && path == Path::pseud;
  std::string met;
  std::string target;
  if (failed_reps > 0) {
    met = "false";
    target = "every repetition succeeds";
  } else if (config.transport == Transport::inproc) {
    met = "null";
    target = "none for inproc";
  } else if (path == Path::pseud_bare || path == Path::pseud_intercepted) {
    met = "null";
    target = "none (what watching calls costs: see the overhead line)";
  } else if (path != Path::pseud) {
    met = "null";
    target = "none for pseud++ on one side (reported to show where a gap comes from)";
  } else if (config.mode == Mode::latency) {
    met = measured && meets(pseud, floor) ? "true" : "false";
    target = "p50_ratio <= 1.15, p99_ratio <= 1.3";
  } else {
    met = measured && meets(pseud, floor) ? "true" : "false";
    target = std::string("throughput_ratio >= ") + (config.curve ? "0.9" : "0.8");
  }
  return "{\"summary\": {" + config_fields(config) + "}, \"path\": \"" + name_of(path) + "\", \"p50_ratio\": " + number(p50, 3) +
         ", \"p99_ratio\": " + number(p99, 3) + ", \"throughput_ratio\": " + number(rate, 3) + ", \"met\": " + met +
         ", \"target\": " + quoted(target) +
         (judged ? ", \"met_reps\": \"" + std::to_string(met_reps) + " of " + std::to_string(paired) + "\"" : std::string()) +
         ", \"failed_reps\": " + std::to_string(failed_reps) + "}";
}

std::string overhead_line(const Config& config, Path path, Path over, const std::vector<Measurement>& path_reps,
                          const std::vector<Measurement>& over_reps) {
  const Measurement mine = medians(path_reps);
  const Measurement base = medians(over_reps);
  std::string per_rep;
  for (std::size_t i = 0; i < std::min(path_reps.size(), over_reps.size()); ++i) {
    per_rep += (i ? ", " : "") + number(ratio(path_reps[i].p50_us, over_reps[i].p50_us), 3);
  }
  const double p50 = ratio(mine.p50_us, base.p50_us);
  const bool judged = path == Path::pseud_intercepted && over == Path::pseud;
  const std::string met = !judged ? "null" : (std::isfinite(p50) && p50 <= 1.03 ? "true" : "false");
  return "{\"overhead\": {" + config_fields(config) + "}, \"path\": \"" + name_of(path) + "\", \"over\": \"" +
         name_of(over) + "\", \"p50_ratio\": " + number(p50, 3) + ", \"p99_ratio\": " +
         number(ratio(mine.p99_us, base.p99_us), 3) + ", \"throughput_ratio\": " +
         number(ratio(mine.calls_per_s, base.calls_per_s), 3) + ", \"p50_ratios\": [" + per_rep +
         "], \"met\": " + met + ", \"target\": " + quoted(judged ? "p50_ratio <= 1.03" : "none (reported)") + "}";
}

std::string error_line(const Config& config, Path path, int rep, const std::string& why) {
  return "{\"error\": " + quoted(why) + ", \"impl\": \"" + name_of(path) + "\", \"rep\": " + std::to_string(rep) +
         ", " + config_fields(config) + "}";
}

}  // namespace bench
