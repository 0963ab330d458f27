// Layer 6 (events): the subscriber's window of handled events (dedup_window.hpp).

#include "events/dedup_window.hpp"

namespace pseud::detail {

void DedupWindow::remember(const std::string& key) {
  if (capacity_ == 0 || !keys_.insert(key).second) return;
  order_.push_back(key);
  if (order_.size() > capacity_) {
    keys_.erase(order_.front());
    order_.pop_front();
  }
}

}  // namespace pseud::detail
