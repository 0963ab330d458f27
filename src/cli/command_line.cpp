#include "cli/command_line.hpp"

#include <algorithm>

namespace pseud::cli {

namespace {

bool listed(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

CommandLine::CommandLine(const std::vector<std::string>& words, const std::vector<std::string>& flags,
                         const std::vector<std::string>& repeatable, const std::vector<std::string>& switches) {
  bool flags_done = false;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (!flags_done && word == "--") {  // what follows is positional, even "--x"
      flags_done = true;
      continue;
    }
    if (flags_done || word.size() < 3 || word.rfind("--", 0) != 0) {
      positionals_.push_back(word);
      continue;
    }
    std::string flag = word.substr(2);
    std::optional<std::string> value;
    if (const auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    if (listed(switches, flag)) {
      if (value) throw UsageProblem("option --" + flag + " takes no value");
      if (values_.count(flag)) throw UsageProblem("option --" + flag + " given twice");
      values_.emplace(flag, std::string());
      continue;
    }
    if (!listed(flags, flag) && !listed(repeatable, flag)) throw UsageProblem("unknown option --" + flag);
    if (!value) {
      if (i + 1 >= words.size()) throw UsageProblem("option --" + flag + " needs a value");
      value = words[++i];
    }
    if (!listed(repeatable, flag) && values_.count(flag)) throw UsageProblem("option --" + flag + " given twice");
    values_.emplace(flag, std::move(*value));
  }
}

std::optional<std::string> CommandLine::get(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string CommandLine::get_or(const std::string& flag, std::string fallback) const {
  return get(flag).value_or(std::move(fallback));
}

std::vector<std::string> CommandLine::all(const std::string& flag) const {
  std::vector<std::string> out;
  auto [first, last] = values_.equal_range(flag);
  for (auto it = first; it != last; ++it) out.push_back(it->second);
  return out;
}

std::optional<double> CommandLine::seconds(const std::string& flag) const {
  const auto text = get(flag);
  if (!text) return std::nullopt;
  try {
    std::size_t used = 0;
    const double value = std::stod(*text, &used);
    if (used == text->size() && value >= 0) return value;
  } catch (const std::exception&) {
  }
  throw UsageProblem("option --" + flag + " takes a number of seconds >= 0, not '" + *text + "'");
}

std::optional<long> CommandLine::integer(const std::string& flag, long minimum) const {
  const auto text = get(flag);
  if (!text) return std::nullopt;
  try {
    std::size_t used = 0;
    const long value = std::stol(*text, &used);
    if (used == text->size() && value >= minimum) return value;
  } catch (const std::exception&) {
  }
  throw UsageProblem("option --" + flag + " takes a whole number >= " + std::to_string(minimum) + ", not '" + *text +
                     "'");
}

}  // namespace pseud::cli
