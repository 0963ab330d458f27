#include "driver.hpp"

#include <unistd.h>

#include <cstdio>
#include <map>
#include <optional>
#include <sstream>

#include "curve.hpp"
#include "echo_client.hpp"
#include "report.hpp"
#include "roles.hpp"
#include "spawn.hpp"

namespace bench {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds ready_timeout{10000};
constexpr milliseconds exit_timeout{5000};

// The figures of one repetition, or why it failed.
struct Outcome {
  std::optional<Measurement> figures;
  std::string error;
};

void print(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

// Waits for a child we are done with; an error text unless it exited with status 0.
std::string finish(Child& child, const char* what) {
  const auto status = child.wait(exit_timeout);
  if (!status) {
    child.kill();
    return std::string(what) + " did not exit within 5 s (killed)";
  }
  if (*status != 0) return std::string(what) + " exited with status " + std::to_string(*status);
  return {};
}

// One repetition of one path: a server process (not for inproc) and a client process.
Outcome run_once(const Options& options, const Config& config, Path path) {
  const std::string self = self_path();
  RoleArgs args;
  args.path = path;
  args.config = config;
  args.warmup_ms = static_cast<long>(options.warmup.count());
  args.duration_ms = static_cast<long>(options.duration.count());
  args.parent = static_cast<long>(::getpid());
  std::optional<KeyPair> client_keys;
  std::optional<Child> server;
  if (config.transport != Transport::inproc) {
    if (config.curve) {
      client_keys = make_key_pair();
      args.trust = client_keys->public_key;
    }
    server.emplace(self, role_command(serve_role, args));
    const auto ready = server->read_line(ready_timeout);
    if (!ready) return {{}, server->eof() ? "server: ended without a READY line" : "server: no READY line within 10 s"};
    std::istringstream words(*ready);
    std::string word;
    words >> word >> args.endpoint >> args.server_key;
    if (word != "READY" || args.endpoint.empty() || args.server_key.empty()) return {{}, *ready};
  }
  Child client(self, role_command(drive_role, args));
  const std::string keys =
      client_keys ? "keys " + client_keys->public_key + " " + client_keys->secret_key + "\n" : "keys - -\n";
  if (!client.write(keys)) return {{}, "client: cannot write its keys"};
  const auto limit = options.warmup + options.duration + connect_timeout + 2 * call_timeout + milliseconds(10000);
  const auto line = client.read_line(limit);
  if (!line) {
    if (client.eof()) return {{}, "client: ended without a result (" + finish(client, "client") + ")"};
    return {{}, "client: no result within " + std::to_string(limit.count() / 1000) + " s (killed)"};
  }
  Outcome outcome;
  Measurement m;
  if (line->rfind("RESULT ", 0) == 0 && from_result_line(line->substr(7), m)) {
    outcome.figures = m;
  } else {
    outcome.error = *line;
  }
  std::string problem = finish(client, "client");
  if (server) {
    server->close_stdin();
    const std::string server_problem = finish(*server, "server");
    if (problem.empty()) problem = server_problem;
  }
  if (outcome.figures && !problem.empty()) {
    outcome.figures.reset();
    outcome.error = problem;
  }
  return outcome;
}

std::string describe(const Config& c) {
  std::string text = std::string(name_of(c.transport)) + " " + std::to_string(c.payload) + " B " + name_of(c.mode);
  if (c.mode == Mode::throughput) text += " window " + std::to_string(c.window);
  if (c.curve) text += " curve";
  if (c.peers != 1) text += " peers " + std::to_string(c.peers);
  return text;
}

}  // namespace

int run_driver(const Options& options) {
  const std::vector<Config> matrix = expand_matrix(options);
  const auto started = Clock::now();
  bool failed = false;
  for (std::size_t index = 0; index < matrix.size(); ++index) {
    const Config& config = matrix[index];
    std::map<Path, std::vector<Measurement>> results;
    std::map<Path, int> failed_reps;
    // A pseud++ peer owns its ZeroMQ context, and inproc does not cross
    // contexts: the one-sided paths are not measured over inproc.
    std::vector<Path> measured;
    for (const Path path : options.paths) {
      const bool both_sides = client_impl(path) == Impl::pseud && server_impl(path) == Impl::pseud;
      if (both_sides || config.transport != Transport::inproc) measured.push_back(path);
    }
    std::vector<Path> paths = measured;
    if (options.floor) paths.insert(paths.begin(), Path::floor);
    for (int rep = 0; rep < options.reps; ++rep) {
      // Each repetition starts one path further along: none always goes first.
      for (std::size_t k = 0; k < paths.size(); ++k) {
        const Path path = paths[(k + static_cast<std::size_t>(rep)) % paths.size()];
        std::fprintf(stderr, "pseud-bench: [%zu/%zu] %s: %s rep %d/%d\n", index + 1, matrix.size(),
                     describe(config).c_str(), name_of(path), rep + 1, options.reps);
        Outcome outcome;
        try {
          outcome = run_once(options, config, path);
        } catch (const std::exception& e) {
          outcome.error = e.what();
        }
        if (!outcome.figures) {
          failed = true;
          ++failed_reps[path];
          print(error_line(config, path, rep + 1, outcome.error));
          continue;
        }
        results[path].push_back(*outcome.figures);
        if (options.verbose) print(result_line(config, path, *outcome.figures, 1, rep + 1));
      }
    }
    for (const Path path : paths) {
      if (!results[path].empty()) {
        print(result_line(config, path, medians(results[path]), static_cast<int>(results[path].size())));
      }
    }
    if (!results[Path::pseud].empty()) {
      if (!results[Path::pseud_intercepted].empty()) {
        print(overhead_line(config, Path::pseud_intercepted, Path::pseud, results[Path::pseud_intercepted],
                            results[Path::pseud]));
      }
      if (!results[Path::pseud_bare].empty()) {
        print(overhead_line(config, Path::pseud, Path::pseud_bare, results[Path::pseud], results[Path::pseud_bare]));
      }
    }
    if (options.floor) {
      for (const Path path : measured) {
        print(summary_line(config, path, results[path], results[Path::floor],
                           failed_reps[path] + failed_reps[Path::floor]));
      }
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::fprintf(stderr, "pseud-bench: %zu configurations in %.1f s%s\n", matrix.size(), seconds,
               failed ? "; some repetitions FAILED" : "");
  return failed ? 1 : 0;
}

}  // namespace bench
