#pragma once
// Layer 6 (events): the last N delivery keys a subscriber has handled, so that
// an event delivered again (a retry whose ACK was lost) does not run twice.

#include <cstddef>
#include <deque>
#include <string>
#include <unordered_set>

namespace pseud::detail {

class DedupWindow {
 public:
  explicit DedupWindow(std::size_t capacity) : capacity_(capacity) {}
  bool contains(const std::string& key) const { return keys_.count(key) > 0; }
  /// Remembers `key`, forgetting the oldest beyond the capacity.
  void remember(const std::string& key);
  std::size_t size() const noexcept { return order_.size(); }

 private:
  const std::size_t capacity_;
  std::deque<std::string> order_;
  std::unordered_set<std::string> keys_;
};

}  // namespace pseud::detail
