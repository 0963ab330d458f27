#include "service/version_range.hpp"

#include <charconv>

#include "pseud/errors.hpp"

namespace pseud::detail {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

}  // namespace

std::optional<Version> parse_version(std::string_view text) {
  text = trim(text);
  if (const auto suffix = text.find_first_of("-+"); suffix != std::string_view::npos) text = text.substr(0, suffix);
  if (!text.empty() && (text.front() == 'v' || text.front() == 'V')) text.remove_prefix(1);
  Version version{0, 0, 0};
  std::size_t part = 0;
  while (true) {
    if (part == version.size() || text.empty()) return std::nullopt;
    const char* end = text.data() + text.size();
    const auto [next, error] = std::from_chars(text.data(), end, version[part]);
    if (error != std::errc() || next == text.data()) return std::nullopt;
    text.remove_prefix(static_cast<std::size_t>(next - text.data()));
    ++part;
    if (text.empty()) return version;
    if (text.front() != '.') return std::nullopt;
    text.remove_prefix(1);
  }
}

VersionRange::VersionRange(std::string_view range) : text_(trim(range)) {
  std::string_view rest = text_;
  if (rest.empty()) return;
  if (rest.find_first_of("<>=,") == std::string_view::npos) {
    const auto base = parse_version(rest);
    if (!base) throw UsageError("version range '" + text_ + "' is not a version such as 1.2 or a list such as >=1.2,<2");
    bounds_.push_back({Op::ge, *base});
    bounds_.push_back({Op::lt, Version{(*base)[0] + 1, 0, 0}});
    return;
  }
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    Op op = Op::eq;
    for (const auto& [prefix, which] : {std::pair{">=", Op::ge}, {"<=", Op::le}, {"==", Op::eq}, {">", Op::gt},
                                        {"<", Op::lt}, {"=", Op::eq}}) {
      if (item.starts_with(prefix)) {
        op = which;
        item.remove_prefix(std::string_view(prefix).size());
        break;
      }
    }
    const auto version = parse_version(item);
    if (!version) {
      throw UsageError("version range '" + text_ + "': '" + std::string(item) +
                       "' is not a version (write e.g. >=1.2,<2)");
    }
    bounds_.push_back({op, *version});
  }
}

bool VersionRange::contains(std::string_view version) const {
  if (bounds_.empty()) return true;
  const auto parsed = parse_version(version);
  if (!parsed) return false;
  for (const Bound& bound : bounds_) {
    const bool ok = [&] {
      switch (bound.op) {
        case Op::ge: return *parsed >= bound.version;
        case Op::gt: return *parsed > bound.version;
        case Op::le: return *parsed <= bound.version;
        case Op::lt: return *parsed < bound.version;
        case Op::eq: return *parsed == bound.version;
      }
      return false;
    }();
    if (!ok) return false;
  }
  return true;
}

}  // namespace pseud::detail
