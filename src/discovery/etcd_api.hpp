#pragma once
// Layer 7 (discovery): the etcd v3 JSON gateway calls the etcd backend
// makes, each a typed function; every answer is read as hostile input.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pseud::detail::discovery {

/// A call failed. `unreachable`: no answer at all (etcd down, a timeout);
/// otherwise etcd answered with an error or with something unreadable.
class EtcdError : public std::runtime_error {
 public:
  EtcdError(const std::string& what, bool unreachable) : std::runtime_error(what), unreachable_(unreachable) {}
  bool unreachable() const noexcept { return unreachable_; }

 private:
  bool unreachable_;
};

struct KeyValue {
  std::string key;
  std::string value;
};

struct RangeAnswer {
  std::int64_t revision = 0;
  std::vector<KeyValue> pairs;
  bool truncated = false;  // more keys than asked for
};

struct WatchEvent {
  bool deleted = false;
  KeyValue pair;  // value empty for a deletion
};

/// One line of a watch stream: its revision and events.
struct WatchBatch {
  std::int64_t revision = 0;
  std::vector<WatchEvent> events;
};

class EtcdApi {
 public:
  using Duration = std::chrono::milliseconds;

  /// `host` and `port` as in etcd://HOST:PORT.
  EtcdApi(std::string host, int port);

  /// "HOST:PORT", for messages.
  const std::string& address() const noexcept { return address_; }

  /// A new lease of `ttl`; its id.
  std::int64_t grant(std::chrono::seconds ttl, Duration timeout, const std::atomic<bool>* stop = nullptr) const;
  /// Puts `key` = `value` under `lease` (0: none); the revision of the put.
  std::int64_t put(std::string_view key, std::string_view value, std::int64_t lease, Duration timeout,
                   const std::atomic<bool>* stop = nullptr) const;
  /// Every key starting with `prefix`, at most `limit`.
  RangeAnswer range_prefix(std::string_view prefix, std::size_t limit, Duration timeout,
                           const std::atomic<bool>* stop = nullptr) const;
  /// Deletes `key` (absent is fine).
  void delete_key(std::string_view key, Duration timeout, const std::atomic<bool>* stop = nullptr) const;
  /// Renews `lease`; the TTL it has left, 0 when etcd no longer knows it.
  std::int64_t keepalive(std::int64_t lease, Duration timeout, const std::atomic<bool>* stop = nullptr) const;
  /// Revokes `lease` and deletes its keys (an unknown lease is fine).
  void revoke(std::int64_t lease, Duration timeout, const std::atomic<bool>* stop = nullptr) const;

  /// Streams the changes under `prefix` from `start_revision`, each batch to
  /// `on_batch`, until `stop` is set (returns) or the stream ends, breaks or
  /// is cancelled by etcd (throws EtcdError).
  void watch_prefix(std::string_view prefix, std::int64_t start_revision,
                    const std::function<void(const WatchBatch&)>& on_batch, const std::atomic<bool>& stop) const;

 private:
  std::string post(std::string_view path, const std::string& body, Duration timeout,
                   const std::atomic<bool>* stop) const;

  std::string address_;
  std::string base_url_;
};

/// The end of the range of keys starting with `prefix` (its last byte + 1).
std::string prefix_range_end(std::string_view prefix);

}  // namespace pseud::detail::discovery
