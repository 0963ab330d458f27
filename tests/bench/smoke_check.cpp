// bench_smoke: runs pseud-bench (argv[1]) with the remaining arguments and
// fails unless it exits with status 0 and every stdout line is a well-formed
// JSON object of one of its documented shapes, none of them an error. It
// checks that the tool works, not how fast anything is.

#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "cli/json.hpp"
#include "spawn.hpp"

namespace {

const msgpack::object* field(const msgpack::object& map, const std::string& key) {
  for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
    const msgpack::object& k = map.via.map.ptr[i].key;
    if (k.type == msgpack::type::STR && std::string_view(k.via.str.ptr, k.via.str.size) == key) {
      return &map.via.map.ptr[i].val;
    }
  }
  return nullptr;
}

bool is_number(const msgpack::object* o) {
  return o && (o->type == msgpack::type::POSITIVE_INTEGER || o->type == msgpack::type::NEGATIVE_INTEGER ||
               o->type == msgpack::type::FLOAT64 || o->type == msgpack::type::FLOAT32);
}

double as_number(const msgpack::object* o) { return is_number(o) ? o->as<double>() : -1; }

bool is_text(const msgpack::object* o, std::set<std::string> allowed = {}) {
  if (!o || o->type != msgpack::type::STR) return false;
  return allowed.empty() || allowed.count(std::string(o->via.str.ptr, o->via.str.size)) > 0;
}

bool is_bool(const msgpack::object* o) { return o && o->type == msgpack::type::BOOLEAN; }
bool is_nil(const msgpack::object* o) { return o && o->type == msgpack::type::NIL; }

// The configuration fields shared by results and summaries.
std::string check_config(const msgpack::object& map) {
  if (!is_text(field(map, "transport"), {"tcp", "ipc", "inproc"})) return "bad transport";
  if (as_number(field(map, "payload")) < 1) return "bad payload";
  if (!is_text(field(map, "mode"), {"latency", "throughput"})) return "bad mode";
  if (as_number(field(map, "window")) < 1) return "bad window";
  if (!is_bool(field(map, "curve"))) return "bad curve";
  if (as_number(field(map, "peers")) < 1) return "bad peers";
  return {};
}

std::string check_result(const msgpack::object& map) {
  if (!is_text(field(map, "impl"), {"pseud", "floor", "pseud_client", "pseud_server", "pseud_bare", "pseud_intercepted"})) {
    return "bad impl";
  }
  if (auto problem = check_config(map); !problem.empty()) return problem;
  const double p50 = as_number(field(map, "p50_us"));
  const double p99 = as_number(field(map, "p99_us"));
  if (p50 <= 0 || p99 < p50) return "bad p50_us/p99_us";
  if (as_number(field(map, "calls_per_s")) <= 0) return "bad calls_per_s";
  if (as_number(field(map, "rss_kib")) <= 0) return "bad rss_kib";
  if (as_number(field(map, "reps")) < 1) return "bad reps";
  return {};
}

std::string check_summary(const msgpack::object& map) {
  const msgpack::object* config = field(map, "summary");
  if (config->type != msgpack::type::MAP) return "summary is not an object";
  if (auto problem = check_config(*config); !problem.empty()) return problem;
  if (!is_text(field(map, "path"), {"pseud", "pseud_client", "pseud_server", "pseud_bare", "pseud_intercepted"})) {
    return "bad path";
  }
  for (const char* key : {"p50_ratio", "p99_ratio", "throughput_ratio"}) {
    if (as_number(field(map, key)) <= 0) return std::string("bad ") + key;
  }
  const msgpack::object* met = field(map, "met");
  if (!is_bool(met) && !is_nil(met)) return "bad met";
  if (!is_text(field(map, "target"))) return "bad target";
  if (as_number(field(map, "failed_reps")) != 0) return "failed repetitions";
  return {};
}

std::string check_overhead(const msgpack::object& map) {
  const msgpack::object* config = field(map, "overhead");
  if (config->type != msgpack::type::MAP) return "overhead is not an object";
  if (auto problem = check_config(*config); !problem.empty()) return problem;
  if (!is_text(field(map, "path"), {"pseud", "pseud_intercepted"})) return "bad path";
  if (!is_text(field(map, "over"), {"pseud", "pseud_bare"})) return "bad over";
  for (const char* key : {"p50_ratio", "p99_ratio", "throughput_ratio"}) {
    if (as_number(field(map, key)) <= 0) return std::string("bad ") + key;
  }
  const msgpack::object* per_rep = field(map, "p50_ratios");
  if (!per_rep || per_rep->type != msgpack::type::ARRAY || per_rep->via.array.size == 0) return "bad p50_ratios";
  const msgpack::object* met = field(map, "met");
  if (!is_bool(met) && !is_nil(met)) return "bad met";
  if (!is_text(field(map, "target"))) return "bad target";
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_smoke PSEUD_BENCH [ARGS...]\n");
    return 2;
  }
  bench::install_child_cleanup();
  std::vector<std::string> args(argv + 2, argv + argc);
  bool with_floor = false;
  bool with_overhead = false;  // --paths naming pseud_bare or pseud_intercepted beside pseud
  for (const std::string& arg : args) {
    with_floor = with_floor || arg == "--floor";
    with_overhead = with_overhead || arg.find("pseud_intercepted") != std::string::npos ||
                    arg.find("pseud_bare") != std::string::npos;
  }
  bench::Child tool(argv[1], args);
  int results = 0;
  int summaries = 0;
  int overheads = 0;
  int failures = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto line = tool.read_line(std::chrono::seconds(5));
    if (!line) {
      if (tool.eof()) break;
      continue;
    }
    std::string problem;
    try {
      const msgpack::object_handle parsed = pseud::cli::parse_json(*line);
      const msgpack::object& map = parsed.get();
      if (map.type != msgpack::type::MAP) {
        problem = "not a JSON object";
      } else if (field(map, "error")) {
        problem = "a repetition failed";
      } else if (field(map, "summary")) {
        problem = check_summary(map);
        ++summaries;
      } else if (field(map, "overhead")) {
        problem = check_overhead(map);
        ++overheads;
      } else {
        problem = check_result(map);
        ++results;
      }
    } catch (const std::exception& e) {
      problem = std::string("malformed JSON: ") + e.what();
    }
    std::printf("%s %s\n", problem.empty() ? "ok  " : "FAIL", line->c_str());
    if (!problem.empty()) {
      std::printf("     ^ %s\n", problem.c_str());
      ++failures;
    }
  }
  const auto status = tool.wait(std::chrono::seconds(5));
  if (!status) {
    std::printf("FAIL pseud-bench did not finish in time\n");
    return 1;
  }
  if (*status != 0) {
    std::printf("FAIL pseud-bench exited with status %d\n", *status);
    ++failures;
  }
  if (results == 0) {
    std::printf("FAIL no result lines\n");
    ++failures;
  }
  if (with_floor && summaries == 0) {
    std::printf("FAIL --floor but no summary lines\n");
    ++failures;
  }
  if (with_overhead && overheads == 0) {
    std::printf("FAIL pseud_bare or pseud_intercepted but no overhead lines\n");
    ++failures;
  }
  std::printf("%d result lines, %d summary lines, %d overhead lines, %d problems\n", results, summaries, overheads,
              failures);
  return failures == 0 ? 0 : 1;
}
