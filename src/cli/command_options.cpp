#include "cli/command_options.hpp"

#include <cmath>

namespace pseud::cli {

void add_words(CLI::App& app, std::vector<std::string>& words, std::initializer_list<Word> positionals) {
  for (const Word& word : positionals) {
    CLI::Option* option = app.add_option(word.name, word.description)->each([&words](const std::string& text) {
      words.push_back(text);
    });
    if (word.repeated) {
      // As many words as there are, each taken as it is: with allow_extra_args
      // CLI11 would split a word such as [1, 2] at its commas.
      constexpr int any = CLI::detail::expected_max_vector_size;
      option->expected(any, any)->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    }
  }
}

CLI::Option* add_repeatable(CLI::App& app, const std::string& name, std::vector<std::string>& values,
                            const std::string& description) {
  return app.add_option(name, values, description)->allow_extra_args(false);
}

CLI::Validator seconds_check() {
  return CLI::Validator(
      [](const std::string& text) -> std::string {
        try {
          std::size_t used = 0;
          if (const double value = std::stod(text, &used); used == text.size() && value >= 0) return {};
        } catch (const std::exception&) {
        }
        return "takes a number of seconds >= 0, not '" + text + "'";
      },
      "");
}

CLI::Validator at_least(long minimum) {
  return CLI::Validator(
      [minimum](const std::string& text) -> std::string {
        try {
          std::size_t used = 0;
          if (const long value = std::stol(text, &used); used == text.size() && value >= minimum) return {};
        } catch (const std::exception&) {
        }
        return "takes a whole number >= " + std::to_string(minimum) + ", not '" + text + "'";
      },
      "");
}

void add_timeout(CLI::App& app, std::optional<double>& seconds, const std::string& what) {
  app.add_option("--timeout", seconds, what + " (default 5)")->check(seconds_check())->type_name("SECONDS");
}

std::chrono::milliseconds milliseconds_of(double seconds) {
  return std::chrono::milliseconds(static_cast<long>(std::ceil(seconds * 1000)));
}

CallOptions call_timeout(const std::optional<double>& seconds) {
  CallOptions options;
  options.timeout = milliseconds_of(seconds.value_or(5.0));
  return options;
}

}  // namespace pseud::cli
