#include "engine/request_budget.hpp"

namespace pseud::detail {

std::shared_ptr<RequestBudget::Ticket> RequestBudget::admit(std::string_view peer, std::size_t bytes,
                                                            std::string& why) {
  std::lock_guard lock(mutex_);
  auto it = shares_.find(std::string(peer));
  const Share current = it == shares_.end() ? Share{} : it->second;
  if (current.requests + 1 > limits_.requests_per_peer) {
    why = "this caller already has " + std::to_string(current.requests) + " requests in progress (limit " +
          std::to_string(limits_.requests_per_peer) + ")";
    return nullptr;
  }
  if (current.bytes + bytes > limits_.bytes_per_peer) {
    why = "this caller's requests in progress would hold " + std::to_string(current.bytes + bytes) +
          " bytes (limit " + std::to_string(limits_.bytes_per_peer) + ")";
    return nullptr;
  }
  if (bytes_total_ + bytes > limits_.bytes_total) {
    why = "the requests in progress would hold " + std::to_string(bytes_total_ + bytes) + " bytes (limit " +
          std::to_string(limits_.bytes_total) + " for all callers)";
    return nullptr;
  }
  Share& share = it == shares_.end() ? shares_[std::string(peer)] : it->second;
  ++share.requests;
  share.bytes += bytes;
  bytes_total_ += bytes;
  return std::make_shared<Ticket>(*this, std::string(peer), bytes);
}

RequestBudget::Ticket::~Ticket() { budget_->give_back(peer_, bytes_); }

bool RequestBudget::Ticket::grow_to(std::size_t bytes) {
  if (bytes <= bytes_) return true;
  const std::size_t more = bytes - bytes_;
  std::lock_guard lock(budget_->mutex_);
  Share& share = budget_->shares_[peer_];
  if (share.bytes + more > budget_->limits_.bytes_per_peer ||
      budget_->bytes_total_ + more > budget_->limits_.bytes_total) {
    return false;
  }
  share.bytes += more;
  budget_->bytes_total_ += more;
  bytes_ = bytes;
  return true;
}

void RequestBudget::give_back(const std::string& peer, std::size_t bytes) noexcept {
  std::lock_guard lock(mutex_);
  auto it = shares_.find(peer);
  if (it == shares_.end()) return;
  --it->second.requests;
  it->second.bytes -= bytes;
  bytes_total_ -= bytes;
  if (it->second.requests == 0) shares_.erase(it);
}

std::size_t RequestBudget::bytes_in_use() const {
  std::lock_guard lock(mutex_);
  return bytes_total_;
}

std::size_t RequestBudget::peers_in_use() const {
  std::lock_guard lock(mutex_);
  return shares_.size();
}

}  // namespace pseud::detail
