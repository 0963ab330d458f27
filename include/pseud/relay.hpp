#pragma once
/// Relays: a server that passes every call it does not answer itself to an
/// upstream server, across networks and credentials (pyzmqrpc's proxies).
///  - pass_through (the default): the caller's call goes upstream as it came
///    (name, positional and keyword arguments) and the upstream's OK or ERROR
///    comes back under the caller's message id, its class, message and
///    traceback unchanged. The upstream sees the relay's identity.
///  - store_and_forward: the caller gets OK "accepted" at once, and the call
///    goes upstream as a notification (Target::notify) through the upstream
///    client's outbox, waiting there while the upstream is away, within its
///    OutboxOptions (ttl, limits). A full outbox answers OverloadedError:
///    never dropped silently. In memory only.
/// Each side keeps its own credentials: the listening Server's options say
/// who may call the relay, the upstream Client's (or ServiceClient's) say how
/// the relay authenticates upstream.

#include <chrono>
#include <memory>
#include <string>

#include "pseud/peer.hpp"
#include "pseud/service_client.hpp"

namespace pseud {

enum class RelayMode { pass_through, store_and_forward };

struct RelayOptions {
  RelayMode mode = RelayMode::pass_through;
  /// Pass-through: how long the upstream has to answer. Below a Python pseud
  /// caller's own 5 s, so that the caller hears the relay's TimeoutError
  /// rather than giving up on its own.
  std::chrono::milliseconds timeout{4000};
  /// The domain of the relay's catch-all route: its predicate decides who may use the relay.
  std::string domain{default_domain};
};

struct RelayStats {
  std::uint64_t forwarded = 0;  ///< calls passed upstream (pass-through)
  std::uint64_t answered = 0;   ///< ... whose OK or ERROR came back
  std::uint64_t failed = 0;     ///< ... that got no answer (timeout, upstream unreachable or gone)
  std::uint64_t accepted = 0;   ///< store-and-forward: queued for the upstream
  std::uint64_t refused = 0;    ///< store-and-forward: refused for a full outbox
};

namespace detail {
class RelayCore;
}  // namespace detail

class Relay {
 public:
  /// Relays what `listener` receives to the server `upstream` is connected to.
  /// Both must outlive the relay.
  Relay(Server& listener, Client& upstream, RelayOptions options = {});
  /// Pass-through only: relays to a service of several instances.
  Relay(Server& listener, ServiceClient& upstream, RelayOptions options = {});
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  RelayStats stats() const;

 private:
  Server* listener_;
  std::string domain_;  // of the catch-all route, to take it back
  std::shared_ptr<detail::RelayCore> core_;
};

}  // namespace pseud
