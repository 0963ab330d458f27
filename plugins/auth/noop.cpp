// The "noop" authentication backend: no authentication at all, as pseud's
// noop_auth_backend. Every connection may call; users are routing ids.

#include "builtin.hpp"

namespace pseud::plugins {

namespace {

class NoopAuth final : public AuthBackend {
 public:
  void configure(AuthHost&) override {}
  bool is_authenticated(const Connection&) override { return true; }
  // Nobody is authenticated: a routing id is only a name, whoever presents it now.
  bool allows_routing_id_takeover() const noexcept override { return true; }
};

}  // namespace

std::unique_ptr<AuthBackend> make_noop_auth(PeerRole, const Settings&) { return std::make_unique<NoopAuth>(); }

}  // namespace pseud::plugins
