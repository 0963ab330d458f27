#pragma once
/// Ready-made domain predicates (Registry::set_predicate).

#include <set>
#include <string>

#include "pseud/caller.hpp"

namespace pseud {

/// Accepts every caller: the default domain's behaviour.
inline Predicate allow_all() {
  return [](const PredicateArgs&) { return true; };
}

/// Accepts callers granted `permission` (pseud's restricted-domain example).
inline Predicate require_permission(std::string permission) {
  return [permission = std::move(permission)](const PredicateArgs& args) { return args.has_permission(permission); };
}

/// Accepts only the listed authenticated users.
inline Predicate only_users(std::set<std::string, std::less<>> users) {
  return [users = std::move(users)](const PredicateArgs& args) {
    return !args.user_id.empty() && users.count(args.user_id) > 0;
  };
}

}  // namespace pseud
