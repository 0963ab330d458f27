#pragma once
/// Who is calling: what a handler registered `with_identity` (or taking a
/// `const pseud::Caller&` first parameter) receives, and what domain
/// predicates decide on.

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pseud {

/// What a domain predicate sees about a caller. Filled from the caller's
/// authenticated User-Id and, where configured, the peer's
/// `PeerOptions::predicate_arguments` hook.
struct PredicateArgs {
  std::string user_id{};                 ///< ZAP User-Id, empty without authentication
  std::vector<std::string> permissions{};  ///< permissions granted to that user
  std::map<std::string, std::string, std::less<>> attributes{};  ///< anything else a backend knows

  /// True when `permission` was granted.
  bool has_permission(std::string_view permission) const {
    return std::find(permissions.begin(), permissions.end(), permission) != permissions.end();
  }
};

/// A domain predicate: true to let the caller reach the domain's functions.
using Predicate = std::function<bool(const PredicateArgs&)>;

/// The caller of one request.
struct Caller {
  std::string routing_id{};  ///< ZMQ routing id the request came from
  std::string user_id{};     ///< ZAP User-Id of its connection; empty without authentication
  PredicateArgs predicate_args{};

  /// The identity pseud hands to `with_identity` functions: the User-Id when
  /// there is one, else the routing id.
  const std::string& identity() const noexcept { return user_id.empty() ? routing_id : user_id; }
};

}  // namespace pseud
