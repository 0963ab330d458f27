#pragma once
// pseud-bench's output: one JSON line per result, per summary, per error.

#include <optional>
#include <string>
#include <vector>

#include "measure.hpp"
#include "options.hpp"

namespace bench {

/// Medians, field by field, of the repetitions of one impl.
Measurement medians(const std::vector<Measurement>& reps);

/// {"impl", "transport", "payload", "mode", "window", "curve", "peers", "p50_us",
///  "p99_us", "calls_per_s", "rss_kib", "reps"} plus "rep" for a single
/// repetition; "impl" is the path's name.
std::string result_line(const Config& config, Path path, const Measurement& m, int reps, std::optional<int> rep = {});

/// {"summary": {config}, "path", "p50_ratio", "p99_ratio", "throughput_ratio", "met", "target",
/// "failed_reps"}: the path's medians over the floor's; pseud++ on both sides
/// is judged against issue 10's targets, a one-sided path only reported.
/// Ratios are null when a side has no successful repetition; any failed
/// repetition makes "met" false.
std::string summary_line(const Config& config, Path path, const std::vector<Measurement>& pseud,
                         const std::vector<Measurement>& floor, int failed_reps);

/// {"error": why, "impl", "rep", config...}.
std::string error_line(const Config& config, Path path, int rep, const std::string& why);

/// `path`'s medians over `over`'s, measured in the same run: what watching
/// calls costs (see --paths pseud_bare, pseud_intercepted).
std::string overhead_line(const Config& config, Path path, Path over, const std::vector<Measurement>& path_reps,
                          const std::vector<Measurement>& over_reps);

}  // namespace bench
