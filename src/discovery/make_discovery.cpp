// Layer 7 (discovery): a backend chosen by its address ("static", "etcd://HOST:PORT").
#include <charconv>
#include <string>

#include "discovery/static_discovery.hpp"
#include "pseud/discovery.hpp"
#include "pseud/errors.hpp"
#if PSEUD_WITH_ETCD
#include "discovery/etcd_discovery.hpp"
#endif

namespace pseud {

namespace {

constexpr std::string_view accepted_forms = "\"static\" or \"etcd://HOST:PORT\" (e.g. etcd://127.0.0.1:2379)";

bool valid_host(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  if (host.front() == '[') return host.size() > 2 && host.back() == ']' &&
                                  host.find_first_not_of("0123456789abcdefABCDEF:.", 1) == host.size() - 1;
  return host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") ==
         std::string_view::npos;
}

}  // namespace

std::shared_ptr<Discovery> make_discovery(std::string_view address) {
  if (address == "static") return make_static_discovery();
  constexpr std::string_view etcd_scheme = "etcd://";
  if (address.substr(0, etcd_scheme.size()) != etcd_scheme) {
    throw UsageError("discovery: unknown address \"" + std::string(address.substr(0, 200)) + "\"; use " +
                     std::string(accepted_forms));
  }
  const std::string_view authority = address.substr(etcd_scheme.size());
  const auto colon = authority.rfind(':');
  const std::string_view host = colon == std::string_view::npos ? authority : authority.substr(0, colon);
  const std::string_view port_text = colon == std::string_view::npos ? std::string_view{} : authority.substr(colon + 1);
  int port = 0;
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (!valid_host(host) || port_text.empty() || error != std::errc{} || end != port_text.data() + port_text.size() ||
      port < 1 || port > 65535) {
    throw UsageError("discovery: \"" + std::string(address.substr(0, 200)) +
                     "\" is not a valid etcd address; use etcd://HOST:PORT with a port from 1 to 65535 "
                     "(e.g. etcd://127.0.0.1:2379)");
  }
#if PSEUD_WITH_ETCD
  return detail::discovery::make_etcd_discovery(std::string(host), port);
#else
  throw UsageError("discovery: \"" + std::string(address.substr(0, 200)) +
                   "\" needs the etcd backend, and this pseud++ was built without it; "
                   "rebuild with the meson option -Detcd=true (needs libcurl and nlohmann-json)");
#endif
}

}  // namespace pseud
