#pragma once
// "--name value" command lines of the load roles.

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pseud::load {

class Args {
 public:
  /// Parses argv[first..] as "--name value" pairs, or bare "--flag" when
  /// the next word starts with "--" or there is none. Throws std::invalid_argument.
  Args(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
      std::string_view name = argv[i];
      if (name.substr(0, 2) != "--") throw std::invalid_argument("expected an option, got '" + std::string(name) + "'");
      name.remove_prefix(2);
      if (i + 1 < argc && std::string_view(argv[i + 1]).substr(0, 2) != "--") {
        values_[std::string(name)] = argv[++i];
      } else {
        values_[std::string(name)] = "";
      }
    }
  }

  bool has(const std::string& name) const { return values_.count(name) > 0; }

  std::string text(const std::string& name, std::string fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }

  std::int64_t number(const std::string& name, std::int64_t fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    std::size_t used = 0;
    std::int64_t value = 0;
    try {
      value = std::stoll(it->second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != it->second.size() || value < 0) {
      throw std::invalid_argument("--" + name + " needs a whole number, not '" + it->second + "'");
    }
    return value;
  }

  /// Throws std::invalid_argument naming the first option not in `known`.
  void only(std::initializer_list<std::string_view> known) const {
    for (const auto& [name, value] : values_) {
      bool found = false;
      for (auto k : known) found = found || k == name;
      if (!found) throw std::invalid_argument("unknown option --" + name);
    }
  }

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace pseud::load
