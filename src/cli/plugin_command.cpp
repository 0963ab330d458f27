// `pseud plugin`: starts a plugin executable as a child process
// (protocol/PLUGINS.md), makes the --calls in order, closes it, and prints one
// JSON line for each step. The plugin's own output goes to stderr, so stdout
// holds JSON lines only.

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/calls.hpp"
#include "cli/commands.hpp"
#include "cli/json.hpp"
#include "cli/output.hpp"
#include "cli/peer_options.hpp"
#include "pseud/plugin_host.hpp"

namespace pseud::cli {

namespace {

constexpr const char* plugin_usage =
    "usage: pseud plugin --cookie KEY=VALUE [--versions LIST] [--call FUNC:JSON_ARRAY ...] [--timeout SECONDS] "
    "[--start-timeout SECONDS] [--grace SECONDS] [--sha256 HEX] -- PATH [ARG...]";

// `pseud plugin`'s command line.
struct PluginLine {
  std::vector<std::string> words;  // PATH ARG...
  std::optional<std::string> cookie, versions, sha256;
  std::vector<std::string> calls;
  std::optional<double> timeout, start_timeout, grace;
};

// One line of the plugin's stdout or stderr, as "plugin NAME: LINE" on the
// tool's stderr, in one write (the supervising thread calls this).
void relay_output(const std::string& name, std::string_view line) {
  std::string text = "plugin " + name + ": ";
  text.append(line);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stderr);
}

int run_plugin(const PluginLine& line) {
  if (!line.cookie || line.words.empty()) throw UsageProblem(plugin_usage);
  std::vector<CallText> calls;
  for (const auto& text : line.calls) {
    calls.push_back(parse_call_text(text, "--call takes FUNC:JSON_ARRAY, e.g. count:[] or add:[1, 2]", text));
  }
  const CallOptions call_options = call_timeout(line.timeout);

  PluginLaunch launch;
  launch.argv = line.words;
  launch.cookie = PluginCookie::parse(*line.cookie);
  if (line.versions) launch.versions = parse_plugin_versions(*line.versions, "--versions");
  launch.name = std::filesystem::path(launch.argv[0]).filename().string();
  if (line.start_timeout) launch.start_timeout = milliseconds_of(*line.start_timeout);
  if (line.grace) launch.grace = milliseconds_of(*line.grace);
  if (line.sha256) launch.sha256 = *line.sha256;
  launch.on_output = [name = launch.name](PluginStream, std::string_view text) { relay_output(name, text); };

  std::optional<PluginProcess> plugin;
  try {
    plugin.emplace(std::move(launch));
  } catch (const PluginError& e) {
    print_line(error_line(std::current_exception()));
    std::cerr << "pseud plugin: " << e.what() << "\n";
    return exit_status_of(std::current_exception());
  }
  print_line("{\"event\": \"started\", \"version\": " + std::to_string(plugin->version()) + ", \"pid\": " +
             std::to_string(plugin->pid()) + ", \"endpoint\": " + json_text(plugin->endpoint()) + "}");

  int status = Exit::ok;
  for (const auto& call : calls) {
    const msgpack::object_handle arguments = parse_json(call.arguments_json);
    const auto& array = arguments.get().via.array;
    const int failed = call_and_print_line(plugin->client(), call.function, Args({array.ptr, array.size}), Kwargs{},
                                           call_options);
    if (failed != Exit::ok) status = failed;
  }

  const PluginExit ended = plugin->close();
  std::string closed = "{\"event\": \"closed\", \"exit\": " + std::to_string(ended.status());
  if (!ended.exited) closed += ", \"signal\": " + std::to_string(ended.signal);
  print_line(closed + "}");
  return status;
}

}  // namespace

Command add_plugin(CLI::App& tool) {
  auto line = std::make_shared<PluginLine>();
  CLI::App* app = tool.add_subcommand("plugin", "Starts a plugin program, calls it and closes it");
  add_words(*app, line->words,
            {{"PATH", "the plugin program (after \"--\")"}, {"ARG", "its arguments, its own options too", true}});
  app->add_option("--cookie", line->cookie, "the cookie the plugin expects in its environment")->type_name("KEY=VALUE");
  app->add_option("--versions", line->versions, "protocol versions offered (default 1)")->type_name("LIST");
  add_repeatable(*app, "--call", line->calls, "a call to make, repeatable")->type_name("FUNC:JSON_ARRAY");
  add_timeout(*app, line->timeout, "seconds to wait for each answer");
  app->add_option("--start-timeout", line->start_timeout, "how long the plugin may take to start")
      ->check(seconds_check())
      ->type_name("SECONDS");
  app->add_option("--grace", line->grace, "how long it may take to stop")->check(seconds_check())->type_name("SECONDS");
  app->add_option("--sha256", line->sha256, "runs the program only if it has this digest")->type_name("HEX");
  app->footer("Starts PATH as a plugin (protocol/PLUGINS.md), makes the --calls in order and closes it. Prints\n"
              "{\"event\": \"started\", \"version\", \"pid\", \"endpoint\"}, one line per --call as call does, "
              "then\n{\"event\": \"closed\", \"exit\"[, \"signal\"]}; the plugin's output goes to stderr.\n"
              "Example: pseud plugin --cookie COUNTER_PLUGIN=counter-v1 --versions 1,2 --call 'count:[]' "
              "-- build/examples/counter_plugin");
  return {app, &line->words, [line] { return run_plugin(*line); }};
}

}  // namespace pseud::cli
