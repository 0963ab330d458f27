#pragma once
// Layer 4 (engine): connections that spoke before they authenticated, by
// descriptor and by routing id. An auth backend keeps state for them by
// routing id (untrusted_curve's challenges and login tries); the engine
// tells it to forget a routing id when its connection closes, as it does
// for authenticated peers. A routing id heard through another connection is
// a new connection: the old one's state is forgotten first. Engine thread
// only. Bounded: past `capacity` connections, new ones are not tracked
// (the backend's own bounds still hold for them).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/text_map.hpp"

namespace pseud::detail {

class UnauthenticatedTable {
 public:
  static constexpr std::size_t capacity = 65536;

  /// How `fd` relates to a connection heard now.
  enum class Seen {
    known,           ///< the same connection as before
    untracked,       ///< nothing on that descriptor
    reused,          ///< another connection had the number: its DISCONNECTED is queued by now
  };

  /// If `routing_id` was heard through another descriptor, stops tracking it
  /// there and returns it (for the backend to forget).
  std::optional<std::string> moved(std::string_view routing_id, int fd);
  /// Whether `routing_id` on `fd` (whose socket has `inode`) is the connection tracked there.
  Seen seen(int fd, std::string_view routing_id, std::uint64_t inode) const;
  /// Tracks the connection (unless `capacity` are tracked).
  void add(int fd, std::string_view routing_id, std::uint64_t inode);
  /// Stops tracking `fd`; returns the routing id it had, for the backend to forget.
  std::optional<std::string> remove(int fd);
  std::size_t size() const noexcept { return by_fd_.size(); }

 private:
  struct Entry {
    std::string routing_id;
    std::uint64_t inode = 0;  // which connection had the descriptor
  };
  std::unordered_map<int, Entry> by_fd_;
  TextMap<int> fd_of_;  // routing id -> its descriptor
};

}  // namespace pseud::detail
