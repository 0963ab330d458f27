#include "pseud/registry.hpp"

#include <algorithm>
#include <mutex>

namespace pseud {

namespace {

bool valid_dotted_name(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.back() == '.') return false;
  return name.find("..") == std::string_view::npos;
}

}  // namespace

namespace detail {

void check_scope_prefix(std::string_view prefix) {
  if (valid_dotted_name(prefix) && prefix.find('*') == std::string_view::npos) return;
  throw UsageError("scoped('" + std::string(prefix) +
                   "'): a scope is non-empty dot-separated parts without '*', e.g. 'peek_plugin_tutorial' or "
                   "'plugins.tutorial'");
}

}  // namespace detail

void Registry::add_route(Route route) {
  if (!valid_dotted_name(route.name) && route.name != any_function) {
    throw UsageError("register_rpc: '" + route.name +
                     "' is not a valid name (use non-empty dot-separated parts, e.g. 'string.upper')");
  }
  if (route.domain.empty()) throw UsageError("register_rpc('" + route.name + "'): the domain must not be empty");
  if (!route.handler) throw UsageError("register_rpc('" + route.name + "'): the handler is empty");
  auto shared = std::make_shared<const Route>(std::move(route));
  std::unique_lock lock(mutex_);
  RouteList& list = routes_[shared->name];
  auto same_domain = [&](const auto& r) { return r->domain == shared->domain; };
  if (auto it = std::find_if(list.begin(), list.end(), same_domain); it != list.end()) {
    *it = std::move(shared);
  } else {
    list.push_back(std::move(shared));
  }
}

bool Registry::unregister_rpc(std::string_view name, std::string_view domain) {
  std::unique_lock lock(mutex_);
  auto it = routes_.find(name);
  if (it == routes_.end()) return false;
  RouteList& list = it->second;
  const auto removed = std::erase_if(list, [&](const auto& r) { return r->domain == domain; });
  if (list.empty()) routes_.erase(it);
  return removed > 0;
}

void Registry::set_predicate(std::string domain, Predicate predicate) {
  if (domain.empty()) throw UsageError("set_predicate: the domain must not be empty");
  std::unique_lock lock(mutex_);
  predicates_[std::move(domain)] = std::move(predicate);
}

void Registry::collect(std::string_view name, RouteList& out) const {
  {
    std::shared_lock lock(mutex_);
    if (auto it = routes_.find(name); it != routes_.end()) out.insert(out.end(), it->second.begin(), it->second.end());
  }
  if (parent_) parent_->collect(name, out);
}

bool Registry::accepts(std::string_view domain, const PredicateArgs& args) const {
  for (const Registry* r = this; r; r = r->parent_) {
    Predicate predicate;
    {
      std::shared_lock lock(r->mutex_);
      auto it = r->predicates_.find(domain);
      if (it == r->predicates_.end()) continue;
      predicate = it->second;
    }
    // Run outside the lock: a predicate may consult the registry.
    return predicate && predicate(args);
  }
  return domain == default_domain;
}

std::shared_ptr<const Route> Registry::lookup(std::string_view name, const PredicateArgs& args) const {
  RouteList candidates;
  collect(name, candidates);
  for (const bool default_pass : {false, true}) {
    for (const auto& route : candidates) {
      if ((route->domain == default_domain) != default_pass) continue;
      if (accepts(route->domain, args)) return route;
    }
  }
  return name == any_function ? nullptr : lookup(any_function, args);
}

std::vector<std::shared_ptr<const Route>> Registry::visible_routes(const PredicateArgs& args) const {
  std::vector<std::string> names;
  for (const Registry* r = this; r; r = r->parent_) {
    std::shared_lock lock(r->mutex_);
    for (const auto& [name, list] : r->routes_) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::vector<std::shared_ptr<const Route>> visible;
  for (const auto& name : names) {
    // (Not the catch-all standing in for a name the caller cannot reach.)
    if (auto route = lookup(name, args); route && route->name == name) visible.push_back(std::move(route));
  }
  return visible;
}

Registry& global_registry() {
  static Registry registry;
  return registry;
}

}  // namespace pseud
