// Wire: the HELLO helpers pseud/auth.hpp offers backends.

#include "pseud/auth.hpp"
#include "wire/bodies.hpp"

namespace pseud {

std::optional<HelloCredentials> decode_hello(std::string_view body) {
  auto unpacked = wire::unpack_body(body);
  auto* handle = std::get_if<msgpack::object_handle>(&unpacked);
  if (!handle) return std::nullopt;
  auto hello = wire::decode_hello(handle->get());
  if (!hello) return std::nullopt;
  return HelloCredentials{std::move(hello->login), std::move(hello->password)};
}

std::string welcome_text(std::string_view login) { return "Welcome " + wire::python_bytes_repr(login); }

}  // namespace pseud
