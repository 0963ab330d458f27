#pragma once
// The pseud tool: splitting a command line into positionals and --flags.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pseud/errors.hpp"

namespace pseud::cli {

/// Exit statuses of the tool.
enum Exit : int { ok = 0, remote_error = 1, unreachable = 2, usage = 3 };

/// A usage or set-up error: printed on stderr, exit status 3.
class UsageProblem : public UsageError {
 public:
  using UsageError::UsageError;
};

/// The words of one command line after the subcommand.
class CommandLine {
 public:
  /// `flags` lists the accepted --flags; `repeatable` those that may repeat.
  /// Every flag takes one value, except `switches`, which take none. A word
  /// "--" ends the flags: every word after it is a positional.
  /// Throws UsageProblem for anything else.
  CommandLine(const std::vector<std::string>& words, const std::vector<std::string>& flags,
              const std::vector<std::string>& repeatable = {}, const std::vector<std::string>& switches = {});

  const std::vector<std::string>& positionals() const noexcept { return positionals_; }
  std::optional<std::string> get(const std::string& flag) const;
  std::string get_or(const std::string& flag, std::string fallback) const;
  std::vector<std::string> all(const std::string& flag) const;
  /// Whether the flag (or switch) was given.
  bool has(const std::string& flag) const { return values_.count(flag) > 0; }
  /// The flag's value as a number of seconds; throws UsageProblem when it is not one.
  std::optional<double> seconds(const std::string& flag) const;
  /// The flag's value as a whole number >= minimum.
  std::optional<long> integer(const std::string& flag, long minimum) const;

 private:
  std::vector<std::string> positionals_;
  std::multimap<std::string, std::string> values_;
};

}  // namespace pseud::cli
