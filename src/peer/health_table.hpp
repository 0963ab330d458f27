#pragma once
// Layer 5 (peer): what `pseud.health` answers. The peer as a whole ("" and
// the peer's own names: a server's name, later its instance id) and the
// services the application declared with Peer::set_health, each SERVING or
// NOT_SERVING. A declared service serves only while the peer as a whole does.
// Once the peer stops gracefully everything is NOT_SERVING for good.
// Bounded: at most max_services declared names of at most max_name_size bytes.
// Thread-safe; every operation is a short critical section.

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pseud::detail {

class HealthTable {
 public:
  static constexpr std::size_t max_services = 1024;
  static constexpr std::size_t max_name_size = 255;

  /// Accepts `name` as the peer's own (it reads as ""); empty names are ignored.
  void add_own_name(std::string name);
  /// Sets `service` ("" or an own name: the peer as a whole). Throws
  /// UsageError for a name over max_name_size bytes, or a new name beyond
  /// max_services. Ignored once stopping() was called.
  void set(std::string_view service, bool serving);
  /// Whether `service` serves now; nullopt when it is unknown.
  std::optional<bool> serving(std::string_view service) const;
  /// The peer stops: nothing serves from now on.
  void stopping();

 private:
  bool is_own(std::string_view service) const;  // under mutex_

  mutable std::mutex mutex_;
  std::vector<std::string> own_names_;
  bool whole_ = true;
  bool stopping_ = false;
  std::unordered_map<std::string, bool> services_;
};

}  // namespace pseud::detail
