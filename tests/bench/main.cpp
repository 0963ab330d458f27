// pseud-bench: pseud++ call latency and throughput beside the raw-libzmq
// floor measured in the same run. See --help, and the README's Performance
// section.

#include <cstdio>
#include <string>
#include <vector>

#include "driver.hpp"
#include "options.hpp"
#include "roles.hpp"
#include "spawn.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == bench::serve_role) return bench::serve_main({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == bench::drive_role) return bench::drive_main({args.begin() + 1, args.end()});
  bench::Options options;
  try {
    options = bench::parse_options(args);
  } catch (const bench::UsageError& e) {
    std::fprintf(stderr, "pseud-bench: %s\n", e.what());
    return 2;
  }
  if (options.help) {
    std::fputs(bench::help_text().c_str(), stdout);
    return 0;
  }
  bench::install_child_cleanup();
  return bench::run_driver(options);
}
