#pragma once
// One JSON object on one line, built field by field.

#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace pseud::load {

class JsonLine {
 public:
  JsonLine& text(std::string_view key, std::string_view value) { return raw(key, quote(value)); }
  JsonLine& number(std::string_view key, double value, int decimals = 1) {
    if (!std::isfinite(value) || value < 0) return raw(key, "null");  // not measured
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    return raw(key, buffer);
  }
  JsonLine& integer(std::string_view key, long long value) { return raw(key, std::to_string(value)); }
  JsonLine& boolean(std::string_view key, bool value) { return raw(key, value ? "true" : "false"); }
  JsonLine& texts(std::string_view key, const std::vector<std::string>& values) {
    std::string list = "[";
    for (std::size_t i = 0; i < values.size(); ++i) list += (i ? ", " : "") + quote(values[i]);
    return raw(key, list + "]");
  }
  JsonLine& raw(std::string_view key, std::string_view json) {
    body_ += body_.empty() ? "{" : ", ";
    body_ += quote(key) + ": " + std::string(json);
    return *this;
  }
  std::string str() const { return body_.empty() ? "{}" : body_ + "}"; }

  static std::string quote(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
        out += escaped;
      } else {
        out += c;
      }
    }
    return out + "\"";
  }

 private:
  std::string body_;
};

}  // namespace pseud::load
