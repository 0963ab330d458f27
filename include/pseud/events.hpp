#pragma once
/// Events: a server's EventHub publishes typed events; subscribers (any
/// Client connected to that server) receive those whose type matches their
/// patterns, each subscription in one of two modes:
///  - broadcast(): every live subscriber gets each event, at most once; one
///    that does not keep up loses events, counted (EventHubStats).
///  - group(name): lymph's competing consumers: each event goes to one live
///    member of the group, is acknowledged after its handler returns, and is
///    retried with backoff on another member on error or silence, up to
///    `retries`, then handed to the hub's dead-letter hook.
/// Events travel on a socket of their own (pseud v1's wire is untouched) and
/// a subscriber is admitted with a single-use ticket it gets through an
/// ordinary call, so the server's authentication backend and the predicate
/// of EventHubOptions::domain decide who may subscribe.
/// In memory only: what the hub holds is lost when its process ends.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <msgpack.hpp>

#include "pseud/detail/wire_buffer.hpp"
#include "pseud/peer.hpp"
#include "pseud/registry.hpp"

namespace pseud {

/// One event as a subscriber receives it.
struct Event {
  std::string id;       ///< 32 hex digits, unique per emission
  std::string type;     ///< dotted words, e.g. "order.created"
  std::string source;   ///< who emitted it: the hub's server, or the client that asked it to
  std::map<std::string, std::string> headers;
  msgpack::object_handle body;

  /// The body converted to T; throws ConversionError when it does not fit.
  template <class T>
  T body_as() const {
    return detail::convert_reply<T>(body.get());
  }
};

/// How a subscription receives events (see the top of this file).
struct DeliveryMode {
  std::string group;  ///< empty: broadcast
  bool is_broadcast() const noexcept { return group.empty(); }
};
inline DeliveryMode broadcast() { return {}; }
inline DeliveryMode group(std::string name) { return {std::move(name)}; }

/// The reserved functions of an EventHub's server.
inline constexpr std::string_view events_ticket_function = "pseud.events.ticket";
inline constexpr std::string_view events_emit_function = "pseud.events.emit";

struct EventHubOptions {
  /// Where subscribers connect (the events socket, beside the server's own).
  std::string endpoint = "tcp://127.0.0.1:*";
  /// The endpoint subscribers are told to connect to; empty: the one bound
  /// (set it when binding a wildcard address such as tcp://0.0.0.0:*).
  std::string advertise{};
  /// The domain of pseud.events.ticket and pseud.events.emit: its predicate decides who may subscribe and emit.
  std::string domain{default_domain};
  /// Clients may ask the hub to emit (pseud.events.emit); off: only the server emits.
  bool accept_emits = false;
  std::size_t max_subscribers = 10000;
  std::size_t max_subscriptions_per_subscriber = 64;
  std::size_t max_event_bytes = 1024 * 1024;  ///< an event's type, headers and body together
  std::size_t max_headers = 32;
  /// Group mode: a member that neither acknowledges nor refuses within this has failed the event.
  std::chrono::milliseconds ack_timeout{2000};
  /// Group mode: deliveries after the first, each to another member where there is one, before dead-lettering.
  int retries = 3;
  /// Group mode: the wait before the first retry, doubled for each next one.
  std::chrono::milliseconds retry_backoff{50};
  /// Group mode: events one member may hold unacknowledged; more wait at the hub.
  std::size_t max_unacked_per_member = 64;
  /// Group mode: events waiting at the hub for a free member, per group, in count and bytes; more are dropped, counted.
  std::size_t max_group_backlog = 100000;
  std::size_t max_group_backlog_bytes = 64 * 1024 * 1024;
  /// A subscriber silent this long is dropped (subscribers ping every second).
  std::chrono::milliseconds subscriber_timeout{3000};
  /// Events queued per subscriber connection before broadcast ones are dropped for it (ZMQ_SNDHWM).
  int send_queue_limit = 10000;
  /// Called on the hub's thread with an event no group member acknowledged
  /// after its retries (or that had no member left), the group, and why. Keep it short.
  std::function<void(const Event& event, const std::string& group, const std::string& why)> dead_letter{};
};

struct EventHubStats {
  std::uint64_t emitted = 0;
  std::uint64_t broadcast_sent = 0;      ///< broadcast copies handed to subscriber connections
  std::uint64_t broadcast_dropped = 0;   ///< ... dropped: that subscriber's queue was full
  std::uint64_t group_sent = 0;          ///< group deliveries, retries included
  std::uint64_t group_acked = 0;
  std::uint64_t group_retried = 0;
  std::uint64_t dead_lettered = 0;
  std::uint64_t group_dropped = 0;       ///< dropped: the group's backlog was full
  std::uint64_t unmatched = 0;           ///< emitted with no subscription matching
  std::uint64_t subscriptions_refused = 0;  ///< bad ticket, bad pattern, too many
  std::uint64_t malformed_messages = 0;     ///< on the events socket
  std::size_t subscribers = 0;
  std::size_t group_backlog = 0;
};

namespace detail {
class EventHubCore;
class EventSubscriberCore;
}  // namespace detail

/// Publishes events from a server; binds its own socket at construction.
class EventHub {
 public:
  /// Binds options.endpoint and registers pseud.events.ticket (and, with
  /// accept_emits, pseud.events.emit) on `server`, which must outlive the hub.
  explicit EventHub(Server& server, EventHubOptions options = {});
  ~EventHub();
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  /// The endpoint subscribers are told (advertise, or the one bound).
  const std::string& endpoint() const noexcept;

  /// Emits an event of `type` whose body is `body` packed; returns its id.
  /// Any thread. Throws UsageError for an invalid type, MessageTooLargeError
  /// over max_event_bytes, PeerStoppedError once stopped.
  template <class T>
  std::string emit(std::string_view type, const T& body, std::map<std::string, std::string> headers = {}) {
    detail::WireBuffer packed;
    msgpack::pack(packed, body);
    return emit_packed(type, std::string_view(packed.data(), packed.size()), std::move(headers), {});
  }
  /// As emit, with the body already packed as msgpack, and the source it names (empty: the server's name).
  std::string emit_packed(std::string_view type, std::string_view packed_body, std::map<std::string, std::string> headers,
                          std::string source);

  EventHubStats stats() const;
  /// Closes the events socket; events still waiting are dropped. Also done by the destructor.
  void stop();

 private:
  std::shared_ptr<detail::EventHubCore> core_;  // shared with the server's handlers, which may outlive the hub
};

struct EventSubscriberOptions {
  /// Event ids remembered per subscription, to run a handler once for an event delivered twice.
  std::size_t dedup_window = 10000;
  /// How long subscribe() waits for the hub to admit the subscription.
  std::chrono::milliseconds admit_timeout{5000};
  std::chrono::milliseconds ping_interval{1000};
  /// The hub is taken as gone after this much silence; the subscriber then subscribes again.
  std::chrono::milliseconds hub_timeout{3000};
};

struct EventSubscriberStats {
  std::uint64_t received = 0;
  std::uint64_t handled = 0;
  std::uint64_t duplicates = 0;      ///< delivered again and not run again
  std::uint64_t handler_errors = 0;  ///< handlers that threw (group mode: refused, retried elsewhere)
  std::uint64_t resubscribed = 0;    ///< times the hub was lost and the subscription made again
};

/// Receives events from the EventHub of the server `client` is connected to.
/// Handlers run one at a time on the subscriber's own thread, in arrival order.
class EventSubscriber {
 public:
  using Handler = std::function<void(const Event&)>;

  /// `client` must outlive the subscriber.
  explicit EventSubscriber(Client& client, EventSubscriberOptions options = {});
  ~EventSubscriber();
  EventSubscriber(const EventSubscriber&) = delete;
  EventSubscriber& operator=(const EventSubscriber&) = delete;

  /// Adds a subscription and waits until the hub has admitted every
  /// subscription so far. Throws UsageError for an invalid pattern or
  /// group, UnauthorizedError (or another RemoteError) when the server
  /// refuses, TimeoutError when the hub does not answer within admit_timeout.
  void subscribe(std::string_view pattern, Handler handler, DeliveryMode mode = broadcast());

  /// Asks the server's hub to emit (its accept_emits must be on); returns the event's id.
  template <class T>
  std::string emit(std::string_view type, const T& body, std::map<std::string, std::string> headers = {}) {
    return client_->call<std::string>(events_emit_function, std::string(type), body, headers);
  }

  EventSubscriberStats stats() const;
  void stop();

 private:
  Client* client_;
  std::unique_ptr<detail::EventSubscriberCore> core_;
};

}  // namespace pseud
