// pseud: call, serve, inspect pseud v1 peers from the command line; JSON in and out.
// The command line is CLI11's: `pseud --help`, `pseud SUBCOMMAND --help`.

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "pseud/keys.hpp"
#include "pseud/log.hpp"

namespace pseud::cli {

namespace {

constexpr const char* about =
    "pseud: calls, serves and inspects pseud v1 peers (Python or C++) from the command line. JSON in, one JSON "
    "line out per call or event.";

constexpr const char* footer =
    "Arguments are JSON where valid JSON, otherwise strings. Tagged forms:\n"
    "  {\"$bytes\": HEX}, {\"$map\": [[key, value], ...]}, {\"$ext\": CODE, \"hex\": HEX}\n"
    "  (sent as given, codes 123-126 too: a Python pseud peer unpickles those)\n"
    "\"--\" ends the options: every word after it is a positional (an ARG such as -x, a plugin's own options).\n"
    "Exit status: 0 ok, 1 remote error, unauthorised or not serving, 2 timeout, unreachable, outcome unknown,\n"
    "discovery unreachable or a plugin that did not start, 3 usage or set-up error.\n"
    "`pseud SUBCOMMAND --help` shows a subcommand's options.";

// The subcommand a parse got to, for the messages ("pseud call: ...").
std::string command_name(const CLI::App& tool) {
  const auto chosen = tool.get_subcommands();
  return chosen.empty() ? "pseud" : "pseud " + chosen.front()->get_name();
}

}  // namespace

void block_stop_signals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
}

bool wait_for_signal(double seconds) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  if (seconds < 0) {
    int signal_number = 0;
    return sigwait(&stop, &signal_number) == 0;
  }
  const auto whole = static_cast<time_t>(seconds);
  timespec limit{whole, static_cast<long>((seconds - static_cast<double>(whole)) * 1e9)};
  while (true) {
    const int taken = sigtimedwait(&stop, nullptr, &limit);
    if (taken > 0) return true;
    if (errno != EINTR) return false;  // EAGAIN: the time is up
  }
}

int take_signal(int signal_number) {
  sigset_t wanted;
  sigemptyset(&wanted);
  if (signal_number != 0) {
    sigaddset(&wanted, signal_number);
  } else {
    sigaddset(&wanted, SIGINT);
    sigaddset(&wanted, SIGTERM);
  }
  int taken = 0;
  return sigwait(&wanted, &taken) == 0 ? taken : 0;
}

Command add_keygen(CLI::App& tool) {
  CLI::App* app = tool.add_subcommand("keygen", "Prints a new CURVE key pair: {\"public\": Z85, \"secret\": Z85}");
  auto words = std::make_shared<std::vector<std::string>>();
  return {app, words.get(), [words] {
            if (!words->empty()) throw UsageProblem("keygen takes no arguments");
            const CurveKeyPair pair = generate_curve_keypair();
            print_line("{\"public\": " + json_text(pair.public_key) + ", \"secret\": " + json_text(pair.secret_key) +
                       "}");
            return int{Exit::ok};
          }};
}

int run(int argc, char** argv) {
  CLI::App tool(about, "pseud");
  tool.require_subcommand(0, 1);  // at most one; none is refused below, with the help
  tool.footer(footer);
  const std::vector<Command> commands = {add_call(tool),   add_inspect(tool),  add_stats(tool), add_serve(tool),
                                         add_health(tool), add_discover(tool), add_emit(tool),  add_subscribe(tool),
                                         add_relay(tool),  add_plugin(tool),   add_keygen(tool)};
  // "--" ends the options: CLI11 parses the words before it, and the words
  // after it, all of them, are the subcommand's last positionals. (CLI11
  // 2.1 hands a "--" met after a subcommand's positionals back to the
  // top level, which refuses what follows.)
  std::vector<std::string> words(argv + std::min(argc, 1), argv + argc);
  if (!words.empty() && words.front() == "help") words.front() = "--help";
  const auto dashes = std::find(words.begin(), words.end(), "--");
  const std::vector<std::string> after_dashes(dashes == words.end() ? words.end() : dashes + 1, words.end());
  words.erase(dashes, words.end());
  std::reverse(words.begin(), words.end());  // CLI11 takes the words last first
  try {
    tool.parse(words);
  } catch (const CLI::CallForHelp&) {
    std::cout << tool.help();  // the chosen subcommand's, if there is one
    return Exit::ok;
  } catch (const CLI::ParseError& e) {
    std::cerr << command_name(tool) << ": " << e.what() << "\nRun `" << command_name(tool)
              << " --help` for its usage.\n";
    return Exit::usage;
  }
  const auto chosen = std::find_if(commands.begin(), commands.end(), [](const Command& c) { return c.app->parsed(); });
  if (chosen == commands.end()) {
    std::cerr << "pseud: which subcommand?\n" << tool.help();
    return Exit::usage;
  }
  chosen->words->insert(chosen->words->end(), after_dashes.begin(), after_dashes.end());
  block_stop_signals();
  set_log_handler([](LogLevel level, std::string_view message) {
    std::cerr << "pseud: " << log_level_name(level) << ": " << message << "\n";
  }, LogLevel::warning);
  try {
    return chosen->run();
  } catch (const std::exception& e) {
    std::cerr << command_name(tool) << ": " << e.what() << "\n";
    return Exit::usage;
  }
}

}  // namespace pseud::cli

int main(int argc, char** argv) { return pseud::cli::run(argc, argv); }
