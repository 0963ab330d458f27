#pragma once
/// pseud::detail is not part of the API: what is in it may change in any
/// release without notice. This header holds a WORK body's decoded view,
/// shared by the wire layer that decodes it and the handlers that bind it.

#include <cstdint>
#include <string_view>

#include <msgpack.hpp>

namespace pseud::detail {

/// A WORK body `[name, args, kwargs]`, viewing into an unpacked object.
struct WorkBody {
  std::string_view name;  ///< the dotted name called
  const msgpack::object* args = nullptr;
  std::uint32_t arg_count = 0;
  const msgpack::object_kv* kwargs = nullptr;
  std::uint32_t kwarg_count = 0;
};

}  // namespace pseud::detail
