// Target "commands": the input is one msgpack value, unpacked as the engine
// unpacks a body (bounded), then decoded into typed commands (command.hpp)
// of several shapes and into tagged ones (OneOf), directly, as a handler's
// argument and as a reply. What decodes must encode again, through the
// packer and through msgpack::object with a zone, to the same bytes, as a
// map of exactly its fields (the tag first for OneOf), and decode to the same
// value. What does not decode throws FieldError only, naming a command, and
// reaches a caller as a TypeError (argument) or a ConversionError (reply).

#include <bit>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "body_checks.hpp"
#include "fuzz_input.hpp"
#include "fuzz_targets.hpp"
#include "pseud/command.hpp"
#include "pseud/detail/outgoing_call.hpp"
#include "pseud/registry.hpp"
#include "values/exception_mapping.hpp"

namespace pseud::fuzz {

namespace {

struct Scalars {
  bool flag = false;
  std::int64_t count = 0;
  std::uint8_t small = 0;
  double ratio = 0;
  std::string text;
  std::vector<char> raw;
  PSEUD_COMMAND("fuzz.scalars", flag, count, small, ratio, text, raw);
  bool operator==(const Scalars& o) const {  // NaN is a value like any other here
    return flag == o.flag && count == o.count && small == o.small &&
           std::bit_cast<std::uint64_t>(ratio) == std::bit_cast<std::uint64_t>(o.ratio) && text == o.text &&
           raw == o.raw;
  }
};

struct Point {
  std::int32_t x = 0;
  std::int32_t y = 0;
  PSEUD_COMMAND("fuzz.point", x, y);
  bool operator==(const Point&) const = default;
};

struct Shape {
  using result = std::string;
  std::string name;
  std::vector<Point> corners;
  std::optional<Point> centre;
  std::map<std::string, std::int64_t> tags;
  PSEUD_COMMAND("fuzz.shape", name, corners, centre, tags);
  bool operator==(const Shape&) const = default;
};

struct Empty {
  PSEUD_COMMAND("fuzz.empty");
  bool operator==(const Empty&) const = default;
};

using Any = OneOf<Scalars, Point, Shape, Empty>;

struct Batch {
  std::vector<Any> steps;
  std::optional<Any> last;
  PSEUD_COMMAND("fuzz.batch", steps, last);
  bool operator==(const Batch&) const = default;
};

constexpr std::size_t longest_message = 1024;  // the deepest type here nests 5 commands

std::string packed_bytes(const auto& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return {buffer.data(), buffer.size()};
}

// How many fields T's encoding holds at its top level.
template <class T>
std::size_t expected_entries(const T& value) {
  if constexpr (detail::is_one_of_v<T>) {
    return 1 + std::visit([](const auto& c) { return expected_entries(c); }, value.variant());
  } else {
    return detail::CommandFields<T>::size;
  }
}

template <class T>
void check_encoding(const T& decoded) {
  const std::string bytes = packed_bytes(decoded);
  auto again = unpack_checked(bytes);
  require(again.has_value(), "a decoded command encodes to a body the engine accepts");
  const msgpack::object& value = again->get();
  require(value.type == msgpack::type::MAP && value.via.map.size == expected_entries(decoded),
          "a command encodes as a map of exactly its fields (and the tag for OneOf)");
  if constexpr (detail::is_one_of_v<T>) {
    require(value.via.map.ptr[0].key.as<std::string>() == "__type__" &&
                value.via.map.ptr[0].val.as<std::string>() == decoded.wire_name(),
            "the tagged form's first entry is __type__ with the wire name");
  }
  T round_trip{};
  try {
    value.convert(round_trip);
  } catch (const std::exception&) {
    require(false, "what a command encodes decodes again");
  }
  require(round_trip == decoded, "encode then decode gives the same command");
  msgpack::zone zone;
  const msgpack::object with_zone(decoded, zone);
  require(packed_bytes(with_zone) == bytes, "msgpack::object with a zone holds what the packer writes");
  require(with_zone.as<T>() == decoded, "the zone object decodes to the same command");
}

// Decodes `value` as T; true when it did. A failure must be a FieldError.
template <class T>
bool check_decode(const msgpack::object& value) {
  T decoded{};
  try {
    value.convert(decoded);
  } catch (const FieldError& e) {
    const std::string_view message = e.what();
    require(!message.empty() && message.size() <= longest_message, "a field error says what, in bounded words");
    require(message.starts_with("fuzz.") || message.starts_with("OneOf<fuzz."), "a field error names a command");
    return false;
  } catch (const std::exception&) {
    require(false, "decoding a command throws FieldError and nothing else");
  }
  check_encoding(decoded);
  return true;
}

// The same value as the one argument of a registered function, and as a reply.
template <class T>
void check_call(const Registry& registry, std::string_view function, const msgpack::object& value, bool decodes) {
  const auto route = registry.lookup(function, {});
  require(route != nullptr, "the fuzz functions are registered");
  detail::WireBuffer out;
  detail::Packer packer(out);
  Caller caller;
  try {
    route->handler(detail::Invocation{{route->name, &value, 1, nullptr, 0}, &caller}, packer);
    require(decodes, "a handler runs only with an argument that decodes");
  } catch (...) {
    const wire::ErrorBody error = detail::describe_exception(std::current_exception());
    require(!decodes && error.name == "TypeError", "an argument that does not decode is the caller's TypeError");
    require(error.message.starts_with(std::string(function) + "() argument "), "the TypeError names the function");
  }
  try {
    (void)detail::convert_reply<T>(value);
    require(decodes, "a reply converts only when it decodes");
  } catch (const ConversionError&) {
    require(!decodes, "a reply that decodes converts");
  } catch (const std::exception&) {
    require(false, "a reply that does not decode is a ConversionError");
  }
}

const Registry& command_registry() {
  static Registry registry;
  static const bool registered = [] {
    registry.register_command<Shape>([](const Shape& shape) { return shape.name; });
    registry.register_command<Batch>([](const Batch& batch) { return batch.steps.size(); });
    registry.register_rpc("fuzz.any", [](const Any& any) { return std::string(any.wire_name()); }, {.params = {"any"}});
    return true;
  }();
  (void)registered;
  return registry;
}

}  // namespace

int fuzz_commands(const std::uint8_t* data, std::size_t size) {
  const auto value = unpack_checked(bytes_of(data, size));
  if (!value) return 0;
  const msgpack::object& object = value->get();
  check_decode<Scalars>(object);
  check_decode<Point>(object);
  check_decode<Empty>(object);
  const bool shape = check_decode<Shape>(object);
  const bool batch = check_decode<Batch>(object);
  const bool any = check_decode<Any>(object);
  const Registry& registry = command_registry();
  check_call<Shape>(registry, "fuzz.shape", object, shape);
  check_call<Batch>(registry, "fuzz.batch", object, batch);
  check_call<Any>(registry, "fuzz.any", object, any);
  return 0;
}

}  // namespace pseud::fuzz
