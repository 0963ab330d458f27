#include "zap_server.hpp"

#include <atomic>

#include "security/credentials.hpp"
#include "security/zmq_draft.hpp"

namespace pseud::plugins {

namespace {
std::atomic<std::uint64_t> domain_counter{0};
}  // namespace

namespace {

void enforce_domain(AuthHost& host, const std::string& domain) {
  host.socket().set(zmq::sockopt::zap_domain, domain);
  const int enforce = 1;
  if (zmq_setsockopt(host.socket().handle(), ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, sizeof enforce) != 0) {
    throw zmq::error_t();
  }
}

}  // namespace

std::unique_ptr<security::ZapRegistration> start_zap(AuthHost& host, security::ZapAuthenticator authenticator) {
  std::string domain = "pseud." + std::to_string(domain_counter.fetch_add(1));
  auto registration = security::register_zap_domain(host.context(), domain, std::move(authenticator));
  enforce_domain(host, domain);
  return registration;
}

std::unique_ptr<security::ZapRegistration> start_zap(AuthHost& host, security::DeferringZapAuthenticator authenticator,
                                                     security::ZapDeferLimits limits) {
  std::string domain = "pseud." + std::to_string(domain_counter.fetch_add(1));
  auto registration = security::register_zap_domain(host.context(), domain, std::move(authenticator), limits);
  enforce_domain(host, domain);
  return registration;
}

Permissions::Permissions(const Settings& settings, std::string_view backend) {
  for (const auto& grant : settings.all("permission")) {
    grants_.push_back(split_assignment(grant, std::string(backend) + ": permission"));
  }
}

PredicateArgs Permissions::arguments_for(const std::string& user) const {
  PredicateArgs args;
  args.user_id = user;
  for (const auto& [who, what] : grants_) {
    if (who == user) args.permissions.push_back(what);
  }
  return args;
}

void load_users(const Settings& settings, std::string_view backend, security::PasswordStore& store) {
  const std::string cost_name = settings.get_or("hash_cost", "interactive");
  if (cost_name != "interactive" && cost_name != "minimal") {
    throw UsageError(std::string(backend) + ": hash_cost must be 'interactive' or 'minimal', not '" + cost_name + "'");
  }
  const auto cost = cost_name == "minimal" ? security::HashCost::minimal : security::HashCost::interactive;
  for (const auto& entry : settings.all("user")) {
    auto [login, password] = split_assignment(entry, std::string(backend) + ": user");
    store.add_password(std::move(login), password, cost);
  }
  for (const auto& entry : settings.all("user_hash")) {
    auto [login, hash] = split_assignment(entry, std::string(backend) + ": user_hash");
    store.add_hash(std::move(login), std::move(hash));
  }
}

bool setting_is_true(const Settings& settings, std::string_view name) {
  const auto value = settings.get(name);
  return value && (*value == "1" || *value == "true" || *value == "yes" || *value == "on");
}

}  // namespace pseud::plugins
