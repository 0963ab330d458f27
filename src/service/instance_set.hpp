#pragma once
// Layer 5 (service): the instances a ServiceClient knows, in the order they
// were connected, and the pick of one for a call by policy. No sockets: the
// set holds each instance's Client but never touches it. Callers hold their
// own lock around every member function.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "pseud/service_client.hpp"

namespace pseud {
class Client;
}

namespace pseud::detail {

struct Instance {
  using Clock = std::chrono::steady_clock;

  Instance();
  ~Instance();  // where Client is complete

  std::string key;       // the endpoint, or the discovery instance id
  std::vector<std::string> endpoints;  // where it may be reached, in order
  std::size_t endpoint_index = 0;      // the one it is connected at
  std::string endpoint;                // endpoints[endpoint_index]
  std::string instance;  // the discovery instance id (empty for a bare endpoint)
  bool discovered = false;
  std::atomic<bool> alive{false};  // handshake done, not declared gone (set from its engine thread)
  std::atomic<Clock::rep> down_since{0};  // since when it is not alive (steady clock)
  std::atomic<bool> retired{false};  // out of the set: its connection closes once its calls are answered
  std::atomic<std::size_t> outstanding{0};
  std::atomic<std::uint64_t> calls{0};
  // Null in unit tests, and once closed. Taken (exclusively) only to close
  // it, and closed outside the lock: calls use it under a shared lock.
  mutable std::shared_mutex client_mutex;
  std::unique_ptr<Client> client;

  /// Closes the connection (joins its engine thread: never call it on that thread).
  void close();
};

class InstanceSet {
 public:
  /// The instance for a call, among live ones whose key is not in `tried`; null if none.
  std::shared_ptr<Instance> pick(Policy policy, const std::vector<std::string>& tried);
  /// Whether an instance not in `tried` exists, live or not (it may come up).
  bool any_untried(const std::vector<std::string>& tried) const;

  void add(std::shared_ptr<Instance> instance) { instances_.push_back(std::move(instance)); }
  /// Puts `replacement` in `old`'s place (same position); false if `old` is not in the set.
  bool replace(const std::shared_ptr<Instance>& old, std::shared_ptr<Instance> replacement);
  /// Takes the instance with `key` out of the set (null if absent).
  std::shared_ptr<Instance> remove(const std::string& key);
  const Instance* find(const std::string& key) const;
  const std::vector<std::shared_ptr<Instance>>& all() const noexcept { return instances_; }
  std::size_t size() const noexcept { return instances_.size(); }
  /// How many are live now.
  std::size_t alive_count() const noexcept;
  /// Takes every instance out (to stop them).
  std::vector<std::shared_ptr<Instance>> take_all() { return std::exchange(instances_, {}); }

 private:
  std::vector<std::shared_ptr<Instance>> instances_;
  std::size_t cursor_ = 0;  // round robin: where the next search starts
};

}  // namespace pseud::detail
