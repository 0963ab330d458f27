#pragma once
// Layer 6 (events): single-use admission tickets. A server hands one out to
// an authenticated caller (pseud.events.ticket); the hub admits a
// subscriber that presents it once, within its lifetime, as that caller.
// Bounded: a full book refuses new tickets instead of forgetting old ones.
// Any thread.

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace pseud::detail {

class TicketBook {
 public:
  using Clock = std::chrono::steady_clock;

  TicketBook(std::size_t capacity, std::chrono::milliseconds lifetime) : capacity_(capacity), lifetime_(lifetime) {}

  /// A fresh ticket for `holder`, or nullopt when the book is full of live ones.
  std::optional<std::string> issue(std::string holder, Clock::time_point now);
  /// The holder of `ticket`, which is spent; nullopt for an unknown, spent or expired one.
  std::optional<std::string> redeem(const std::string& ticket, Clock::time_point now);
  std::size_t size() const;

 private:
  void forget_expired(Clock::time_point now);

  struct Entry {
    std::string holder;
    Clock::time_point expires;
  };
  const std::size_t capacity_;
  const std::chrono::milliseconds lifetime_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> tickets_;
};

}  // namespace pseud::detail
