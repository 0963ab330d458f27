#include "body_checks.hpp"

#include <malloc.h>

#include <algorithm>
#include <variant>

#include "fuzz_input.hpp"
#include "pseud/detail/wire_buffer.hpp"
#include "wire/bodies.hpp"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PSEUD_FUZZ_UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(PSEUD_FUZZ_UNDER_ASAN)
#define PSEUD_FUZZ_UNDER_ASAN 1
#endif
#ifdef PSEUD_FUZZ_UNDER_ASAN
// From the ASan runtime; gcc 12 ships no header that declares it.
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace pseud::fuzz {

namespace {

// Heap bytes in use: ASan's count, else glibc's (which TSan's allocator bypasses, so no check there).
std::size_t allocated_bytes() noexcept {
#ifdef PSEUD_FUZZ_UNDER_ASAN
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
#endif
}

// What an unpacked body may hold: 24 bytes per msgpack object, at most one
// object per body byte, zone chunks up to half empty, a first 8 KiB chunk.
std::size_t allocation_bound(std::size_t body_size) noexcept { return 64 * body_size + 64 * 1024; }

bool keys_are_text(const msgpack::object& value) {
  if (value.type == msgpack::type::ARRAY) {
    for (std::uint32_t i = 0; i < value.via.array.size; ++i) {
      if (!keys_are_text(value.via.array.ptr[i])) return false;
    }
  } else if (value.type == msgpack::type::MAP) {
    for (std::uint32_t i = 0; i < value.via.map.size; ++i) {
      const msgpack::object_kv& kv = value.via.map.ptr[i];
      if (kv.key.type != msgpack::type::STR && kv.key.type != msgpack::type::BIN) return false;
      if (!keys_are_text(kv.key) || !keys_are_text(kv.val)) return false;
    }
  }
  return true;
}

// The first value a Python pseud peer cannot decode, walking the unpacked
// value in byte order (a map's key before its value). UTF-8 itself is judged
// by wire::valid_utf8, which the unit tests hold against Python's decoder.
wire::PythonHazard python_hazard(const msgpack::object& value, bool is_key = false) {
  using wire::PythonHazard;
  if (is_key && value.type != msgpack::type::STR && value.type != msgpack::type::BIN) return PythonHazard::map_key;
  switch (value.type) {
    case msgpack::type::STR:
      return wire::valid_utf8({value.via.str.ptr, value.via.str.size}) ? PythonHazard::none
                                                                         : PythonHazard::invalid_utf8;
    case msgpack::type::EXT:
      return wire::is_pickled_ext(value.via.ext.type()) ? PythonHazard::pickled_ext : PythonHazard::none;
    case msgpack::type::ARRAY:
      for (std::uint32_t i = 0; i < value.via.array.size; ++i) {
        if (const auto found = python_hazard(value.via.array.ptr[i]); found != PythonHazard::none) return found;
      }
      return PythonHazard::none;
    case msgpack::type::MAP:
      for (std::uint32_t i = 0; i < value.via.map.size; ++i) {
        if (const auto found = python_hazard(value.via.map.ptr[i].key, true); found != PythonHazard::none) return found;
        if (const auto found = python_hazard(value.via.map.ptr[i].val); found != PythonHazard::none) return found;
      }
      return PythonHazard::none;
    default: return PythonHazard::none;
  }
}

// Levels of arrays and maps, counting an empty one as a level.
std::size_t container_depth(const msgpack::object& value) {
  std::size_t deepest = 0;
  if (value.type == msgpack::type::ARRAY) {
    for (std::uint32_t i = 0; i < value.via.array.size; ++i) {
      deepest = std::max(deepest, container_depth(value.via.array.ptr[i]));
    }
    return deepest + 1;
  }
  if (value.type == msgpack::type::MAP) {
    for (std::uint32_t i = 0; i < value.via.map.size; ++i) {
      deepest = std::max({deepest, container_depth(value.via.map.ptr[i].key), container_depth(value.via.map.ptr[i].val)});
    }
    return deepest + 1;
  }
  return 0;
}

}  // namespace

std::string packed(const msgpack::object& value) {
  pseud::detail::WireBuffer buffer;
  msgpack::packer<pseud::detail::WireBuffer> packer(buffer);
  packer.pack(value);
  return {buffer.data(), buffer.size()};
}

std::optional<msgpack::object_handle> unpack_checked(std::string_view body) {
  const bool scanned = !wire::scan_msgpack(body).has_value();
  const std::size_t before = allocated_bytes();
  auto unpacked = wire::unpack_body(body);
  const std::size_t after = allocated_bytes();
  require(after <= before || after - before <= allocation_bound(body.size()),
          "an unpacked body holds at most 64 bytes per body byte plus 64 KiB");
  auto* handle = std::get_if<msgpack::object_handle>(&unpacked);
  require(scanned == (handle != nullptr), "unpack_body accepts exactly what scan_msgpack accepts");
  if (!handle) {
    require(!wire::map_keys_are_strings(body), "map_keys_are_strings() is false for a refused body");
    require(wire::find_python_hazard(body, {}).hazard == wire::PythonHazard::malformed,
            "find_python_hazard() calls a refused body malformed");
    return std::nullopt;
  }
  require(container_depth(handle->get()) <= wire::max_body_depth, "an accepted body nests at most 64 levels");
  require(wire::map_keys_are_strings(body) == keys_are_text(handle->get()),
          "map_keys_are_strings() matches the unpacked value");
  require(wire::find_python_hazard(body, {}).hazard == python_hazard(handle->get()),
          "find_python_hazard() finds the first hazard of the unpacked value");

  const std::string once = packed(handle->get());
  require(once.size() <= 2 * body.size(), "re-packing at most doubles a body (float32 becomes float64)");
  auto again = wire::unpack_body(once);
  auto* again_handle = std::get_if<msgpack::object_handle>(&again);
  require(again_handle != nullptr, "what pseud++ packs, unpack_body accepts");
  require(packed(again_handle->get()) == once, "unpack(pack(value)) packs to the same bytes");
  return std::move(*handle);
}

}  // namespace pseud::fuzz
