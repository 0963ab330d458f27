#pragma once
// Layer 4 (engine): how much request work each peer has in this peer's hands
// (bodies being decoded, requests queued for a worker or running on one), in
// count and in bytes, against a per-peer and a peer-wide limit. Nothing else
// bounds it: libzmq's queues count messages, not bytes, and a slow handler
// lets requests pile up behind it. Admissions are made on the engine thread;
// a ticket gives its share back from whichever thread drops it.

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pseud::detail {

class RequestBudget {
 public:
  struct Limits {
    std::size_t requests_per_peer;
    std::size_t bytes_per_peer;
    std::size_t bytes_total;
  };

  /// One admitted request's share; given back when destroyed.
  class Ticket {
   public:
    Ticket(RequestBudget& budget, std::string peer, std::size_t bytes) noexcept
        : budget_(&budget), peer_(std::move(peer)), bytes_(bytes) {}
    ~Ticket();
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    /// Grows the share to `bytes` (once a body's decoded size is known);
    /// false, leaving it as it was, when that breaks a limit.
    bool grow_to(std::size_t bytes);
    std::size_t bytes() const noexcept { return bytes_; }

   private:
    RequestBudget* budget_;
    std::string peer_;
    std::size_t bytes_;
  };

  explicit RequestBudget(Limits limits) : limits_(limits) {}
  RequestBudget(const RequestBudget&) = delete;
  RequestBudget& operator=(const RequestBudget&) = delete;

  /// A ticket for `bytes` of work from `peer`, or null with `why` set to the
  /// limit that refuses it.
  std::shared_ptr<Ticket> admit(std::string_view peer, std::size_t bytes, std::string& why);
  /// Bytes held by every admitted request now.
  std::size_t bytes_in_use() const;
  /// Peers with requests admitted now.
  std::size_t peers_in_use() const;

 private:
  struct Share {
    std::size_t requests = 0;
    std::size_t bytes = 0;
  };
  void give_back(const std::string& peer, std::size_t bytes) noexcept;

  const Limits limits_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Share> shares_;  // only peers with something admitted
  std::size_t bytes_total_ = 0;
};

}  // namespace pseud::detail
