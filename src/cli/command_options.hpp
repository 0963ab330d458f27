#pragma once
// The pseud tool: what its subcommands declare on the command line (CLI11),
// and the checks their option values share.

#include <chrono>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/usage.hpp"
#include "pseud/call.hpp"

namespace pseud::cli {

/// One subcommand: its part of the command line, the words it was given
/// (its positionals, then everything after "--"), and what runs it.
struct Command {
  CLI::App* app = nullptr;
  std::vector<std::string>* words = nullptr;
  std::function<int()> run;
};

/// A positional word of a subcommand, as its help shows it.
struct Word {
  const char* name;
  const char* description;
  bool repeated = false;  ///< takes every word left (ARG...)
};

/// Adds positionals to `app`; the words given for them are appended to
/// `words` in the order the positionals are declared (and so given).
void add_words(CLI::App& app, std::vector<std::string>& words, std::initializer_list<Word> positionals);

/// Adds an option that may be given many times, taking one value each time
/// (a word after it is not a second value).
CLI::Option* add_repeatable(CLI::App& app, const std::string& name, std::vector<std::string>& values,
                            const std::string& description);

/// A number of seconds >= 0 (type SECONDS in the help).
CLI::Validator seconds_check();
/// A whole number >= `minimum`.
CLI::Validator at_least(long minimum);

/// Adds --timeout SECONDS (default 5 in CallOptions: call_timeout()).
void add_timeout(CLI::App& app, std::optional<double>& seconds, const std::string& what);
/// CallOptions with the timeout given, or 5 s.
CallOptions call_timeout(const std::optional<double>& seconds);
/// Seconds as milliseconds, rounded up (0.0001 s is 1 ms, not 0).
std::chrono::milliseconds milliseconds_of(double seconds);

}  // namespace pseud::cli
