// Layer 6 (events): EventHub, the public face of EventHubCore, and the
// reserved functions it registers on its server.

#include "pseud/events.hpp"

#include <algorithm>

#include "events/event_hub_core.hpp"
#include "events/hex_text.hpp"

namespace pseud {

namespace {

// The core as the server's handlers hold it: they may outlive the hub.
std::shared_ptr<detail::EventHubCore> core_or_refuse(const std::weak_ptr<detail::EventHubCore>& weak) {
  auto core = weak.lock();
  if (!core) throw UnavailableError("this server's event hub is stopped");
  return core;
}

// An event's source as text: libzmq's generated routing ids (a zero byte and
// four more) become "peer-<hex>".
std::string source_text(const std::string& identity) {
  const bool printable = std::all_of(identity.begin(), identity.end(), [](char c) { return c > ' ' && c <= '~'; });
  if (printable && !identity.empty()) return identity;
  return "peer-" + detail::hex_of(identity);
}

}  // namespace

EventHub::EventHub(Server& server, EventHubOptions options) {
  const std::string domain = options.domain;
  const bool accept_emits = options.accept_emits;
  auto core = std::make_shared<detail::EventHubCore>(server.routing_id(), std::move(options));
  std::weak_ptr<detail::EventHubCore> weak = core;
  server.register_rpc(
      std::string(events_ticket_function),
      [weak](const std::string& identity) {
        auto hub = core_or_refuse(weak);
        auto ticket = hub->tickets().issue(identity, std::chrono::steady_clock::now());
        if (!ticket) throw OverloadedError("too many event-subscription tickets outstanding; try again shortly");
        return std::map<std::string, std::string>{{"ticket", *ticket}, {"endpoint", hub->endpoint()},
                                                  {"key", hub->public_key()}};
      },
      {.domain = domain,
       .with_identity = true,
       .doc = "A single-use ticket to subscribe to this server's events: {ticket, endpoint, key}."});
  if (accept_emits) {
    server.register_rpc(
        std::string(events_emit_function),
        [weak](const std::string& identity, const std::string& type, const msgpack::object& body,
               const std::map<std::string, std::string>& headers) {
          detail::WireBuffer packed;
          msgpack::pack(packed, body);
          return core_or_refuse(weak)->emit(type, std::string_view(packed.data(), packed.size()), headers,
                                            source_text(identity));
        },
        {.domain = domain,
         .params = {"type", "body", param("headers", std::map<std::string, std::string>{})},
         .with_identity = true,
         .doc = "Emits an event from this server's hub with the caller as its source; returns its id.",
         .raises = {raises<UsageError>("ValueError"), raises<MessageTooLargeError>("ValueError"),
                    raises<OutboxFullError>("OverloadedError")}});
  }
  core_ = std::move(core);
}

EventHub::~EventHub() { stop(); }

const std::string& EventHub::endpoint() const noexcept { return core_->endpoint(); }

std::string EventHub::emit_packed(std::string_view type, std::string_view packed_body,
                                  std::map<std::string, std::string> headers, std::string source) {
  return core_->emit(type, packed_body, std::move(headers), std::move(source));
}

EventHubStats EventHub::stats() const { return core_->stats(); }

void EventHub::stop() {
  if (core_) core_->stop();
}

}  // namespace pseud
