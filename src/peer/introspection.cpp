#include "peer/introspection.hpp"

#include <cstdint>
#include <string_view>

#include "pseud/detail/wire_buffer.hpp"

namespace pseud::detail {

namespace {

using WirePacker = msgpack::packer<WireBuffer>;

void pack_param(WirePacker& out, const ParamInfo& param) {
  out.pack_map((param.name.empty() ? 0 : 1) + 1 + (param.default_value ? 1 : 0));
  if (!param.name.empty()) {
    out.pack(std::string_view("name"));
    out.pack(param.name);
  }
  out.pack(std::string_view("type"));
  out.pack(param.type);
  if (param.default_value) {
    out.pack(std::string_view("default"));
    out.pack(param.default_value->get());
  }
}

void pack_route(WirePacker& out, const Route& route) {
  out.pack_map(5);
  out.pack(std::string_view("name"));
  out.pack(route.name);
  out.pack(std::string_view("doc"));
  out.pack(route.doc);
  out.pack(std::string_view("params"));
  out.pack_array(static_cast<std::uint32_t>(route.signature.params.size()));
  for (const auto& param : route.signature.params) pack_param(out, param);
  out.pack(std::string_view("args"));
  out.pack(route.signature.takes_args);
  out.pack(std::string_view("kwargs"));
  out.pack(route.signature.takes_kwargs);
}

}  // namespace

msgpack::object_handle introspection_listing(const std::vector<std::shared_ptr<const Route>>& routes) {
  WireBuffer buffer;
  WirePacker out(buffer);
  out.pack_array(static_cast<std::uint32_t>(routes.size()));
  for (const auto& route : routes) pack_route(out, *route);
  return msgpack::unpack(buffer.data(), buffer.size());
}

}  // namespace pseud::detail
