// `pseud stats`: what a peer's pseud.metrics answers (its calls per function,
// both ways), as an aligned table or, with --json, as one JSON line.

#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/json.hpp"
#include "cli/output.hpp"
#include "cli/peer_options.hpp"
#include "pseud/metrics.hpp"

namespace pseud::cli {

namespace {

// A name from the peer, safe on a terminal: as it is when it is UTF-8
// without control characters, else as a JSON string.
std::string printable(const std::string& name) {
  for (const char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return json_text(name);
  }
  return is_utf8(name) ? name : json_text(name);
}

// Width on a terminal, in characters (UTF-8 continuation bytes take none).
std::size_t width(const std::string& text) {
  std::size_t characters = 0;
  for (const char c : text) characters += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return characters;
}

std::string milliseconds(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", value);
  return text;
}

// One line per function and side, columns aligned: names left, numbers right.
void print_table(const pseud::MetricsReport& reply) {
  const std::vector<std::string> header = {"function", "side",     "calls",  "errors", "in_flight", "timeouts",
                                           "refused",  "p50_ms",   "p90_ms", "p99_ms", "max_ms"};
  std::vector<std::vector<std::string>> rows = {header};
  for (const pseud::MetricsReportRow& r : reply.functions) {
    rows.push_back({printable(r.function), printable(r.side), std::to_string(r.calls), std::to_string(r.errors),
                    std::to_string(r.in_flight), std::to_string(r.timeouts), std::to_string(r.refused),
                    milliseconds(r.p50_ms), milliseconds(r.p90_ms), milliseconds(r.p99_ms), milliseconds(r.max_ms)});
  }
  std::vector<std::size_t> widths(header.size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], width(row[i]));
  }
  print_line("peer " + printable(reply.peer));
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      const std::string padding(widths[i] - width(row[i]), ' ');
      if (i > 0) line += "  ";
      line += i < 2 ? row[i] + (i + 1 < row.size() ? padding : "") : padding + row[i];
    }
    print_line(line);
  }
}

// `pseud stats`'s command line.
struct StatsLine {
  std::vector<std::string> words;  // ENDPOINT
  TargetFlags target;
  bool json = false;
};

int run_stats(const StatsLine& line) {
  if (line.words.size() != 1) throw UsageProblem("usage: pseud stats ENDPOINT [options] (see pseud stats --help)");
  Client client(line.target.server_name, line.target.client.peer_options());
  client.connect(line.words[0]);
  try {
    const auto answer = client.call<msgpack::object_handle>(metrics_function, call_timeout(line.target.timeout));
    if (line.json) {
      print_line(to_json(answer.get()));
      return Exit::ok;
    }
    pseud::MetricsReport reply;
    try {
      answer.get().convert(reply);
    } catch (const msgpack::type_error&) {
      throw ProtocolError("pseud.metrics did not answer {\"peer\", \"functions\": [...]}: " + to_json(answer.get()));
    }
    print_table(reply);
    return Exit::ok;
  } catch (const ServiceNotFoundError&) {
    print_line(error_line(std::current_exception()));
    std::cerr << "pseud stats: the server answers pseud.metrics only to the callers it allows (pseud serve "
                 "--allow-metrics; PeerOptions::metrics_access), and only if it is a pseud++ peer that counts "
                 "metrics\n";
    return exit_status_of(std::current_exception());
  } catch (...) {
    print_line(error_line(std::current_exception()));
    return exit_status_of(std::current_exception());
  }
}

}  // namespace

Command add_stats(CLI::App& tool) {
  auto line = std::make_shared<StatsLine>();
  CLI::App* app = tool.add_subcommand("stats", "Shows a server's calls per function (pseud.metrics)");
  add_words(*app, line->words, {{"ENDPOINT", "where the server listens"}});
  line->target.add_to(*app, "seconds to wait for the answer", "--server-name,--server");
  app->add_flag("--json", line->json, "prints the answer as one JSON line instead of a table")->disable_flag_override();
  app->footer("Prints what the server's pseud.metrics answers: per function and side (incoming, outgoing),\n"
              "its calls, errors, calls in flight, timeouts, refusals and latency percentiles in ms, as a table.\n"
              "A server answers pseud.metrics only to the callers its PeerOptions::metrics_access lets in;\n"
              "`pseud serve --allow-metrics` lets every caller in. Others get ServiceNotFoundError (exit 1).");
  return {app, &line->words, [line] { return run_stats(*line); }};
}

}  // namespace pseud::cli
