#pragma once
// Layer 6 (events): what travels on an EventHub's socket, between a
// subscriber's DEALER and the hub's ROUTER. Each message is a kind frame
// and, for most kinds, one msgpack body:
//   subscriber -> hub   SUB [ticket, [[pattern, group], ...]]   (group "" = broadcast)
//                       ACK [event id, group]   NACK [event id, group, why]   PING
//   hub -> subscriber   WELCOME   DENIED why   UNKNOWN   PONG
//                       EVT group, [id, type, source, {headers}, body]   (three frames)
// Every decoder is bounded and total: anything else is nullopt.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <msgpack.hpp>

#include "pseud/detail/wire_buffer.hpp"

namespace pseud::detail::events_wire {

inline constexpr std::string_view sub = "SUB";
inline constexpr std::string_view ack = "ACK";
inline constexpr std::string_view nack = "NACK";
inline constexpr std::string_view ping = "PING";
inline constexpr std::string_view welcome = "WELCOME";
inline constexpr std::string_view denied = "DENIED";
inline constexpr std::string_view unknown = "UNKNOWN";
inline constexpr std::string_view pong = "PONG";
inline constexpr std::string_view evt = "EVT";

struct Subscription {
  std::string pattern;
  std::string group;  // empty: broadcast
};

struct SubRequest {
  std::string ticket;
  std::vector<Subscription> subscriptions;
};

struct AckMessage {
  std::string event_id;
  std::string group;
  std::string why;  // NACK only
};

struct EventFields {
  std::string id;
  std::string type;
  std::string source;
  std::map<std::string, std::string> headers;
  msgpack::object_handle body;
};

WireBuffer encode_sub(const SubRequest& request);
/// At most `max_subscriptions` entries; strings bounded by the message's own size.
std::optional<SubRequest> decode_sub(std::string_view bytes, std::size_t max_subscriptions);

WireBuffer encode_ack(const AckMessage& message, bool refused);
std::optional<AckMessage> decode_ack(std::string_view bytes, bool refused);

/// The event as the hub packs it once for every delivery; `packed_body` is msgpack already.
WireBuffer encode_event(std::string_view id, std::string_view type, std::string_view source,
                        const std::map<std::string, std::string>& headers, std::string_view packed_body);
std::optional<EventFields> decode_event(std::string_view bytes);

}  // namespace pseud::detail::events_wire
