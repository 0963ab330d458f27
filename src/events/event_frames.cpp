// Layer 6 (events): the events socket's messages (event_frames.hpp).

#include "events/event_frames.hpp"

#include <variant>

#include "wire/bodies.hpp"

namespace pseud::detail::events_wire {

namespace {

using Packer = msgpack::packer<WireBuffer>;

void pack_text(Packer& out, std::string_view text) {
  out.pack_str(static_cast<std::uint32_t>(text.size()));
  out.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
}

std::optional<msgpack::object_handle> unpack(std::string_view bytes) {
  auto result = wire::unpack_body(bytes);
  if (auto* handle = std::get_if<msgpack::object_handle>(&result)) return std::move(*handle);
  return std::nullopt;
}

bool is_text(const msgpack::object& o) { return o.type == msgpack::type::STR || o.type == msgpack::type::BIN; }

std::string text_of(const msgpack::object& o) {
  return o.type == msgpack::type::STR ? std::string(o.via.str.ptr, o.via.str.size)
                                      : std::string(o.via.bin.ptr, o.via.bin.size);
}

bool is_array(const msgpack::object& o, std::uint32_t size) {
  return o.type == msgpack::type::ARRAY && o.via.array.size == size;
}

}  // namespace

WireBuffer encode_sub(const SubRequest& request) {
  WireBuffer buffer;
  Packer out(buffer);
  out.pack_array(2);
  pack_text(out, request.ticket);
  out.pack_array(static_cast<std::uint32_t>(request.subscriptions.size()));
  for (const Subscription& s : request.subscriptions) {
    out.pack_array(2);
    pack_text(out, s.pattern);
    pack_text(out, s.group);
  }
  return buffer;
}

std::optional<SubRequest> decode_sub(std::string_view bytes, std::size_t max_subscriptions) {
  const auto handle = unpack(bytes);
  if (!handle) return std::nullopt;
  const msgpack::object& top = handle->get();
  if (!is_array(top, 2) || !is_text(top.via.array.ptr[0]) || top.via.array.ptr[1].type != msgpack::type::ARRAY) {
    return std::nullopt;
  }
  const msgpack::object& list = top.via.array.ptr[1];
  if (list.via.array.size > max_subscriptions) return std::nullopt;
  SubRequest request{text_of(top.via.array.ptr[0]), {}};
  for (std::uint32_t i = 0; i < list.via.array.size; ++i) {
    const msgpack::object& entry = list.via.array.ptr[i];
    if (!is_array(entry, 2) || !is_text(entry.via.array.ptr[0]) || !is_text(entry.via.array.ptr[1])) {
      return std::nullopt;
    }
    request.subscriptions.push_back({text_of(entry.via.array.ptr[0]), text_of(entry.via.array.ptr[1])});
  }
  return request;
}

WireBuffer encode_ack(const AckMessage& message, bool refused) {
  WireBuffer buffer;
  Packer out(buffer);
  out.pack_array(refused ? 3 : 2);
  pack_text(out, message.event_id);
  pack_text(out, message.group);
  if (refused) pack_text(out, message.why);
  return buffer;
}

std::optional<AckMessage> decode_ack(std::string_view bytes, bool refused) {
  const auto handle = unpack(bytes);
  if (!handle) return std::nullopt;
  const msgpack::object& top = handle->get();
  if (!is_array(top, refused ? 3 : 2)) return std::nullopt;
  for (std::uint32_t i = 0; i < top.via.array.size; ++i) {
    if (!is_text(top.via.array.ptr[i])) return std::nullopt;
  }
  AckMessage message{text_of(top.via.array.ptr[0]), text_of(top.via.array.ptr[1]), {}};
  if (refused) message.why = text_of(top.via.array.ptr[2]);
  return message;
}

WireBuffer encode_event(std::string_view id, std::string_view type, std::string_view source,
                        const std::map<std::string, std::string>& headers, std::string_view packed_body) {
  WireBuffer buffer(64 + type.size() + packed_body.size());
  Packer out(buffer);
  out.pack_array(5);
  pack_text(out, id);
  pack_text(out, type);
  pack_text(out, source);
  out.pack_map(static_cast<std::uint32_t>(headers.size()));
  for (const auto& [key, value] : headers) {
    pack_text(out, key);
    pack_text(out, value);
  }
  buffer.write(packed_body.data(), packed_body.size());
  return buffer;
}

std::optional<EventFields> decode_event(std::string_view bytes) {
  auto handle = unpack(bytes);
  if (!handle) return std::nullopt;
  const msgpack::object& top = handle->get();
  if (!is_array(top, 5)) return std::nullopt;
  const msgpack::object* f = top.via.array.ptr;
  if (!is_text(f[0]) || !is_text(f[1]) || !is_text(f[2]) || f[3].type != msgpack::type::MAP) return std::nullopt;
  EventFields event{text_of(f[0]), text_of(f[1]), text_of(f[2]), {}, {}};
  for (std::uint32_t i = 0; i < f[3].via.map.size; ++i) {
    const auto& entry = f[3].via.map.ptr[i];
    if (!is_text(entry.key) || !is_text(entry.val)) return std::nullopt;
    event.headers[text_of(entry.key)] = text_of(entry.val);
  }
  // The body views into the handle's zone: it takes the zone along.
  const msgpack::object body = f[4];
  event.body = msgpack::object_handle(body, std::move(handle->zone()));
  return event;
}

}  // namespace pseud::detail::events_wire
