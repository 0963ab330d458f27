// Target "json": the `pseud` tool's JSON codec (src/cli/json.hpp), tagged
// forms included. The input is tried
//   - as a command-line argument (parse_argument);
//   - as JSON: what parses must print back (to_json) as JSON that parses to
//     the same msgpack bytes and prints the same line again;
//   - as a msgpack body, the way the tool prints a reply: what unpack_body
//     accepts must print, and parse back to the same value except where
//     json.hpp says otherwise (non-UTF-8 str -> bin, float32 -> float64,
//     NaN and infinities -> null).

#include <cmath>
#include <cstring>
#include <variant>

#include "cli/json.hpp"
#include "fuzz_input.hpp"
#include "fuzz_targets.hpp"
#include "wire/bodies.hpp"

namespace pseud::fuzz {

namespace {

std::string_view text_of(const msgpack::object& o) noexcept { return {o.via.str.ptr, o.via.str.size}; }
std::string_view bin_of(const msgpack::object& o) noexcept { return {o.via.bin.ptr, o.via.bin.size}; }

bool same_bits(double a, double b) noexcept { return std::memcmp(&a, &b, sizeof a) == 0; }

// A float32 prints in its shortest decimal form, which parses back as the
// float64 nearest that decimal: equal once narrowed, give or take double rounding.
bool same_float32(float original, double back) noexcept {
  const auto narrowed = static_cast<float>(back);
  return narrowed == original || std::nextafter(narrowed, original) == original;
}

bool equivalent(const msgpack::object& original, const msgpack::object& back);

bool equivalent_items(const msgpack::object& original, const msgpack::object& back) {
  if (original.type == msgpack::type::ARRAY) {
    if (back.type != msgpack::type::ARRAY || back.via.array.size != original.via.array.size) return false;
    for (std::uint32_t i = 0; i < original.via.array.size; ++i) {
      if (!equivalent(original.via.array.ptr[i], back.via.array.ptr[i])) return false;
    }
    return true;
  }
  if (back.type != msgpack::type::MAP || back.via.map.size != original.via.map.size) return false;
  for (std::uint32_t i = 0; i < original.via.map.size; ++i) {
    if (!equivalent(original.via.map.ptr[i].key, back.via.map.ptr[i].key) ||
        !equivalent(original.via.map.ptr[i].val, back.via.map.ptr[i].val)) {
      return false;
    }
  }
  return true;
}

bool equivalent(const msgpack::object& original, const msgpack::object& back) {
  switch (original.type) {
    case msgpack::type::NIL:
      return back.type == msgpack::type::NIL;
    case msgpack::type::BOOLEAN:
      return back.type == msgpack::type::BOOLEAN && back.via.boolean == original.via.boolean;
    case msgpack::type::POSITIVE_INTEGER:
      return back.type == msgpack::type::POSITIVE_INTEGER && back.via.u64 == original.via.u64;
    case msgpack::type::NEGATIVE_INTEGER:
      return back.type == msgpack::type::NEGATIVE_INTEGER && back.via.i64 == original.via.i64;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      if (!std::isfinite(original.via.f64)) return back.type == msgpack::type::NIL;
      if (back.type != msgpack::type::FLOAT64) return false;
      return original.type == msgpack::type::FLOAT64 ? same_bits(original.via.f64, back.via.f64)
                                                     : same_float32(static_cast<float>(original.via.f64), back.via.f64);
    case msgpack::type::STR:
      if (!cli::is_utf8(text_of(original))) return back.type == msgpack::type::BIN && bin_of(back) == text_of(original);
      return back.type == msgpack::type::STR && text_of(back) == text_of(original);
    case msgpack::type::BIN:
      return back.type == msgpack::type::BIN && bin_of(back) == bin_of(original);
    case msgpack::type::EXT:
      return back.type == msgpack::type::EXT && back.via.ext.type() == original.via.ext.type() &&
             std::string_view(back.via.ext.data(), back.via.ext.size) ==
                 std::string_view(original.via.ext.data(), original.via.ext.size);
    case msgpack::type::ARRAY:
    case msgpack::type::MAP:
      return equivalent_items(original, back);
  }
  return false;
}

std::string to_msgpack(std::string_view json) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  try {
    cli::json_to_msgpack(json, packer);
  } catch (const cli::JsonError& error) {
    require(buffer.size() == 0, "nothing is packed from refused JSON");
    require(error.offset() ? *error.offset() <= json.size() && error.path().empty() : error.path().starts_with("$"),
            "a JSON error is at a byte of the text (the end counting as one) or at a JSON path");
    throw;
  }
  return {buffer.data(), buffer.size()};
}

std::string printed(const std::string& packed) {
  auto value = wire::unpack_body(packed);
  auto* handle = std::get_if<msgpack::object_handle>(&value);
  require(handle != nullptr, "what the JSON codec packs, the wire decoder accepts");
  const std::string json = cli::to_json(handle->get());
  require(cli::is_utf8(json) && json.find('\n') == std::string::npos, "to_json prints one line of UTF-8");
  return json;
}

void check_json_round_trip(std::string_view text) {
  std::string first;
  try {
    first = to_msgpack(text);
  } catch (const cli::JsonError&) {
    return;
  }
  const std::string json = printed(first);
  std::string second;
  try {
    second = to_msgpack(json);
  } catch (const cli::JsonError&) {
    require(false, "what to_json prints parses back");
  }
  require(second == first, "JSON -> msgpack -> JSON -> msgpack gives the same bytes");
  require(printed(second) == json, "printing is stable: the same value prints the same line");
}

void check_msgpack_round_trip(std::string_view bytes) {
  auto value = wire::unpack_body(bytes);
  auto* handle = std::get_if<msgpack::object_handle>(&value);
  if (!handle) return;
  const std::string json = cli::to_json(handle->get());  // any body the wire accepts prints
  try {
    const msgpack::object_handle back = cli::parse_json(json);
    require(equivalent(handle->get(), back.get()), "msgpack -> JSON -> msgpack keeps the value (as json.hpp says)");
  } catch (const cli::JsonError&) {
    require(false, "what to_json prints parses back");
  }
}

}  // namespace

int fuzz_json(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = bytes_of(data, size);
  try {
    (void)cli::parse_argument(input);
  } catch (const UsageError&) {
    // JsonError, or text that is not UTF-8: the tool reports it as a usage error
  }
  check_json_round_trip(input);
  check_msgpack_round_trip(input);
  return 0;
}

}  // namespace pseud::fuzz
