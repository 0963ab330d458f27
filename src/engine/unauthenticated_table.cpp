#include "engine/unauthenticated_table.hpp"

namespace pseud::detail {

std::optional<std::string> UnauthenticatedTable::moved(std::string_view routing_id, int fd) {
  auto elsewhere = fd_of_.find(routing_id);
  if (elsewhere == fd_of_.end() || elsewhere->second == fd) return std::nullopt;
  // A ROUTER routes one connection per routing id: the other one is gone, or unreachable.
  by_fd_.erase(elsewhere->second);
  fd_of_.erase(elsewhere);
  return std::string(routing_id);
}

UnauthenticatedTable::Seen UnauthenticatedTable::seen(int fd, std::string_view routing_id,
                                                      std::uint64_t inode) const {
  auto here = by_fd_.find(fd);
  if (here == by_fd_.end()) return Seen::untracked;
  return here->second.routing_id == routing_id && here->second.inode == inode ? Seen::known : Seen::reused;
}

void UnauthenticatedTable::add(int fd, std::string_view routing_id, std::uint64_t inode) {
  if (by_fd_.size() >= capacity || by_fd_.contains(fd)) return;
  by_fd_.emplace(fd, Entry{std::string(routing_id), inode});
  fd_of_.insert_or_assign(std::string(routing_id), fd);
}

std::optional<std::string> UnauthenticatedTable::remove(int fd) {
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return std::nullopt;
  std::string routing_id = std::move(it->second.routing_id);
  by_fd_.erase(it);
  if (auto back = fd_of_.find(routing_id); back != fd_of_.end() && back->second == fd) fd_of_.erase(back);
  return routing_id;
}

}  // namespace pseud::detail
