// Layer 6 (events): admission tickets (ticket_book.hpp).

#include "events/ticket_book.hpp"

#include "events/hex_text.hpp"

namespace pseud::detail {

std::optional<std::string> TicketBook::issue(std::string holder, Clock::time_point now) {
  const std::lock_guard lock(mutex_);
  if (tickets_.size() >= capacity_) forget_expired(now);
  if (tickets_.size() >= capacity_) return std::nullopt;
  std::string ticket = random_hex(24);
  tickets_[ticket] = Entry{std::move(holder), now + lifetime_};
  return ticket;
}

std::optional<std::string> TicketBook::redeem(const std::string& ticket, Clock::time_point now) {
  const std::lock_guard lock(mutex_);
  const auto it = tickets_.find(ticket);
  if (it == tickets_.end()) return std::nullopt;
  Entry entry = std::move(it->second);
  tickets_.erase(it);
  if (entry.expires <= now) return std::nullopt;
  return std::move(entry.holder);
}

std::size_t TicketBook::size() const {
  const std::lock_guard lock(mutex_);
  return tickets_.size();
}

void TicketBook::forget_expired(Clock::time_point now) {
  std::erase_if(tickets_, [&](const auto& entry) { return entry.second.expires <= now; });
}

}  // namespace pseud::detail
