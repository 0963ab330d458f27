// `pseud plugin`: starts a plugin executable as a child process
// (protocol/PLUGINS.md), makes the --calls in order, closes it, and prints one
// JSON line for each step. The plugin's own output goes to stderr, so stdout
// holds JSON lines only.

#include <cmath>
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

std::optional<std::chrono::milliseconds> milliseconds_option(const CommandLine& line, const std::string& flag) {
  const auto seconds = line.seconds(flag);
  if (!seconds) return std::nullopt;
  return std::chrono::milliseconds(static_cast<long>(std::ceil(*seconds * 1000)));
}

// One line of the plugin's stdout or stderr, as "plugin NAME: LINE" on the
// tool's stderr, in one write (the supervising thread calls this).
void relay_output(const std::string& name, std::string_view line) {
  std::string text = "plugin " + name + ": ";
  text.append(line);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace

int run_plugin(const std::vector<std::string>& words) {
  const CommandLine line(words, {"cookie", "versions", "timeout", "start-timeout", "grace", "sha256"}, {"call"});
  if (!line.has("cookie") || line.positionals().empty()) throw UsageProblem(plugin_usage);
  std::vector<CallText> calls;
  for (const auto& text : line.all("call")) {
    calls.push_back(parse_call_text(text, "--call takes FUNC:JSON_ARRAY, e.g. count:[] or add:[1, 2]", text));
  }
  const CallOptions call_options = timeout_option(line);

  PluginLaunch launch;
  launch.argv = line.positionals();
  launch.cookie = PluginCookie::parse(*line.get("cookie"));
  if (const auto versions = line.get("versions")) launch.versions = parse_plugin_versions(*versions, "--versions");
  launch.name = std::filesystem::path(launch.argv[0]).filename().string();
  if (const auto limit = milliseconds_option(line, "start-timeout")) launch.start_timeout = *limit;
  if (const auto grace = milliseconds_option(line, "grace")) launch.grace = *grace;
  if (const auto digest = line.get("sha256")) launch.sha256 = *digest;
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

}  // namespace pseud::cli
