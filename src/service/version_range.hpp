#pragma once
// Layer 5 (service): which published versions a ServiceClient accepts.
// "" accepts any; "1.2" means >=1.2.0,<2.0.0 (same major, at least that
// minor: lymph's rule); otherwise comparisons joined by commas, each one of
// >= > <= < = == followed by a version. Versions are up to three dot-separated
// numbers; missing parts are 0 and anything after a '-' or '+' is ignored.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pseud::detail {

using Version = std::array<unsigned long, 3>;

/// The version in `text`, or nothing when it is not one.
std::optional<Version> parse_version(std::string_view text);

class VersionRange {
 public:
  /// Throws UsageError, saying what is wrong, for a range it cannot read.
  explicit VersionRange(std::string_view range);
  /// Whether a published `version` is in the range (an unreadable or empty
  /// version is in the range only when the range is empty).
  bool contains(std::string_view version) const;
  const std::string& text() const noexcept { return text_; }

 private:
  enum class Op { ge, gt, le, lt, eq };
  struct Bound {
    Op op;
    Version version;
  };
  std::string text_;
  std::vector<Bound> bounds_;
};

}  // namespace pseud::detail
