#include "cli/signature_text.hpp"

#include <cstdint>
#include <string_view>

#include "cli/json.hpp"
#include "pseud/detail/wire_buffer.hpp"

namespace pseud::cli {

namespace {

// The value under str key `key` of map `map`, or null.
const msgpack::object* member(const msgpack::object& map, std::string_view key) {
  if (map.type != msgpack::type::MAP) return nullptr;
  for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
    const auto& entry = map.via.map.ptr[i];
    if (entry.key.type == msgpack::type::STR && std::string_view(entry.key.via.str.ptr, entry.key.via.str.size) == key) {
      return &entry.val;
    }
  }
  return nullptr;
}

std::optional<std::string_view> text_member(const msgpack::object& map, std::string_view key) {
  const msgpack::object* value = member(map, key);
  if (!value || value->type != msgpack::type::STR) return std::nullopt;
  return std::string_view(value->via.str.ptr, value->via.str.size);
}

bool flag_member(const msgpack::object& map, std::string_view key) {
  const msgpack::object* value = member(map, key);
  return value && value->type == msgpack::type::BOOLEAN && value->via.boolean;
}

// `name: type = default`, `name=default`, `name`, or for a nameless one its type.
std::optional<std::string> param_text(const msgpack::object& param) {
  if (param.type != msgpack::type::MAP) return std::nullopt;
  const auto name = text_member(param, "name");
  auto type = text_member(param, "type");
  if (type && *type == "any") type.reset();
  const msgpack::object* default_value = member(param, "default");
  if (!name) return std::string(type.value_or("?"));
  std::string text(*name);
  if (type) text += ": " + std::string(*type);
  if (default_value) text += (type ? " = " : "=") + to_json(*default_value);
  return text;
}

}  // namespace

std::optional<std::string> signature_text(const msgpack::object& entry) {
  const auto name = text_member(entry, "name");
  const msgpack::object* params = member(entry, "params");
  if (!name || !params || params->type != msgpack::type::ARRAY) return std::nullopt;
  std::string text = std::string(*name) + "(";
  bool first = true;
  auto add = [&](const std::string& part) {
    if (!first) text += ", ";
    text += part;
    first = false;
  };
  for (std::uint32_t i = 0; i < params->via.array.size; ++i) {
    const auto part = param_text(params->via.array.ptr[i]);
    if (!part) return std::nullopt;
    add(*part);
  }
  if (flag_member(entry, "args")) add("*args");
  if (flag_member(entry, "kwargs")) add("**kwargs");
  return text + ")";
}

msgpack::object_handle with_signature(const msgpack::object& entry) {
  pseud::detail::WireBuffer buffer;
  msgpack::packer<pseud::detail::WireBuffer> out(buffer);
  const auto signature = signature_text(entry);
  if (signature && entry.type == msgpack::type::MAP) {
    out.pack_map(entry.via.map.size + 1);
    for (std::uint32_t i = 0; i < entry.via.map.size; ++i) {
      out.pack(entry.via.map.ptr[i].key);
      out.pack(entry.via.map.ptr[i].val);
    }
    out.pack(std::string_view("signature"));
    out.pack(*signature);
  } else {
    out.pack(entry);
  }
  return msgpack::unpack(buffer.data(), buffer.size());
}

}  // namespace pseud::cli
