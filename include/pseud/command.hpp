#pragma once
/// Typed commands (pyzmqrpc3's commands, Vortex's tuples): a struct declared
/// once with a unique wire name and its fields travels as a msgpack map of
/// named fields, so a Python pseud peer sees a dict.
///
///   struct Add {
///     using result = int;  // what the command's function returns (optional: void)
///     int a = 0;
///     int b = 0;
///     PSEUD_COMMAND("calc.add", a, b);
///   };
///
///   server.register_command<Add>([](const Add& add) { return add.a + add.b; });
///   int sum = client.execute(Add{1, 2});  // calls "calc.add" with {"a": 1, "b": 2}
///
/// Decoding (a handler's argument, a reply, `object.as<Add>()`) throws
/// pseud::FieldError, naming the command and the field, for a value that is
/// not a map, a missing field, or a field of the wrong type. Keys the type
/// does not declare are ignored: a newer peer may send more fields. A
/// std::optional field may be missing (std::nullopt), so an older peer may
/// send fewer. A command must be default-constructible (decoding fills a
/// default one).
///
/// pseud::OneOf<A, B, ...> is the tagged form {"__type__": wire name,
/// ...fields}: it decodes into whichever command the tag names.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <variant>

#include <msgpack.hpp>

#include "pseud/detail/signature.hpp"
#include "pseud/field_error.hpp"

/// Declares, inside a struct, its wire name (a string literal: dot-separated
/// parts of printable ASCII, no spaces, no '*') and its fields, by their
/// member names. Write it after the fields; end it with a semicolon.
/// The wire name must be unique in the process (checked at register_command).
#define PSEUD_COMMAND(wire_name, ...)                                                                 \
  static_assert(::pseud::detail::valid_wire_name(wire_name),                                          \
                "PSEUD_COMMAND: the wire name must be non-empty dot-separated parts of printable "   \
                "ASCII, without spaces or '*', e.g. \"calc.add\"");                                   \
  static constexpr ::std::string_view pseud_command_name_() noexcept { return wire_name; }             \
  static constexpr ::std::string_view pseud_command_fields_() noexcept { return #__VA_ARGS__; }        \
  auto pseud_command_tie_() noexcept { return ::std::tie(__VA_ARGS__); }                              \
  auto pseud_command_tie_() const noexcept { return ::std::tie(__VA_ARGS__); }                        \
  using pseud_command_tag_ = void

namespace pseud {

/// The key of the tagged form's wire name (lymph's spelling).
inline constexpr std::string_view command_tag_key = "__type__";

namespace detail {

constexpr bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

constexpr std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

/// A wire name: dot-separated non-empty parts of printable ASCII, without spaces or '*'.
constexpr bool valid_wire_name(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.back() == '.') return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c <= ' ' || c > '~' || c == '*') return false;
    if (c == '.' && name[i + 1] == '.') return false;
  }
  return true;
}

constexpr bool is_identifier(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  for (const char c : name) {
    const bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

/// How many comma-separated names `text` (PSEUD_COMMAND's #__VA_ARGS__) holds.
constexpr std::size_t count_names(std::string_view text) {
  if (trim(text).empty()) return 0;
  std::size_t count = 1;
  for (const char c : text) count += c == ',' ? 1 : 0;
  return count;
}

/// The comma-separated names of `text`, trimmed.
template <std::size_t N>
constexpr std::array<std::string_view, N> split_names(std::string_view text) {
  std::array<std::string_view, N> names{};
  std::size_t count = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; N > 0 && i <= text.size(); ++i) {
    if (i < text.size() && text[i] != ',') continue;
    if (count < N) names[count] = trim(text.substr(start, i - start));
    ++count;
    start = i + 1;
  }
  return names;
}

/// Plain member names, each once, none of them the tag key.
template <std::size_t N>
constexpr bool usable_field_names(const std::array<std::string_view, N>& names) {
  for (std::size_t i = 0; i < N; ++i) {
    if (!is_identifier(names[i]) || names[i] == command_tag_key) return false;
    for (std::size_t j = 0; j < i; ++j) {
      if (names[i] == names[j]) return false;
    }
  }
  return true;
}

template <class C, class = void>
struct command_result {
  using type = void;
};
template <class C>
struct command_result<C, std::void_t<typename C::result>> {
  using type = typename C::result;
};

/// The C++ name of `type`, demangled ("calc::Add").
std::string type_name(const std::type_info& type);

/// Records `wire_name` as `type`'s in the process-wide table. Throws
/// UsageError, naming both types, when another type holds the name already.
void claim_command_name(std::string_view wire_name, const std::type_info& type);

/// `text` quoted for an error message: at most 64 bytes, bytes outside
/// printable ASCII as \xNN (it comes from the wire).
std::string quoted_for_message(std::string_view text);

/// What msgpack type `o` is, in Python's words ("int", "str", "dict", ...).
std::string_view kind_of(const msgpack::object& o) noexcept;

}  // namespace detail

/// A struct declared with PSEUD_COMMAND.
template <class C>
concept Command = std::is_class_v<C> && requires {
  typename C::pseud_command_tag_;
  { C::pseud_command_name_() } -> std::convertible_to<std::string_view>;
};

/// The wire name of command `C` ("calc.add").
template <Command C>
inline constexpr std::string_view command_name_v = C::pseud_command_name_();

/// What executing `C` returns: `C::result`, or void when C declares none.
template <Command C>
using command_result_t = typename detail::command_result<C>::type;

template <Command... C>
class OneOf;

namespace detail {

template <class T>
inline constexpr bool is_one_of_v = false;
template <class... C>
inline constexpr bool is_one_of_v<OneOf<C...>> = true;

template <class T>
inline constexpr bool is_optional_v = false;
template <class T>
inline constexpr bool is_optional_v<std::optional<T>> = true;

/// The fields of command `C`: their names (from PSEUD_COMMAND) and count.
template <Command C>
struct CommandFields {
  using Tie = decltype(std::declval<const C&>().pseud_command_tie_());
  static constexpr std::size_t size = std::tuple_size_v<Tie>;
  static_assert(count_names(C::pseud_command_fields_()) == size,
                "PSEUD_COMMAND: list each field by its plain member name, separated by commas");
  static constexpr std::array<std::string_view, size> names = split_names<size>(C::pseud_command_fields_());
  static_assert(usable_field_names(names),
                "PSEUD_COMMAND: fields are plain member names (a, b; not this->a or a + 1), each listed once; "
                "\"__type__\" is reserved for the tagged form");
  static_assert(std::is_default_constructible_v<C>,
                "PSEUD_COMMAND: a command must be default-constructible (decoding fills a default one)");
};

/// "OneOf<calc.add, calc.mul>", for error messages.
template <class... C>
std::string one_of_label() {
  std::string label = "OneOf<";
  ((label += std::string(command_name_v<C>) + ", "), ...);
  label.resize(label.size() - 2);
  return label + ">";
}

/// What a field of type T must be, for error messages.
template <class T>
std::string expected_label() {
  if constexpr (Command<T>) {
    return "a dict (" + std::string(command_name_v<T>) + ")";
  } else if constexpr (is_one_of_v<T>) {
    return "a tagged dict (" + T::label() + ")";
  } else if constexpr (is_optional_v<T>) {
    return expected_label<typename T::value_type>() + " or None";
  } else {
    const std::string_view type = introspection_type<T>();
    return type == "object" ? type_name(typeid(T)) : std::string(type);
  }
}

template <class Field>
void decode_field(std::string_view command, std::string_view field, const msgpack::object* value, Field& out) {
  if (!value) {
    if constexpr (is_optional_v<Field>) {
      out = std::nullopt;  // an optional field may be left out: a sender that predates it
      return;
    } else {
      throw FieldError(std::string(command) + ": missing field '" + std::string(field) + "'");
    }
  }
  try {
    value->convert(out);
  } catch (const FieldError& e) {  // a command inside this one
    throw FieldError(std::string(command) + ": field '" + std::string(field) + "': " + e.what());
  } catch (const msgpack::type_error&) {
    throw FieldError(std::string(command) + ": field '" + std::string(field) + "' must be " +
                     expected_label<std::remove_cvref_t<Field>>() + ", got " + std::string(kind_of(*value)));
  }
}

/// Fills `out` from map `o`. Keys that are not str, or that C does not
/// declare, are ignored; a key given twice counts as its last value (as a
/// Python dict reads it). Throws FieldError.
template <Command C>
void decode_command(const msgpack::object& o, C& out) {
  using Fields = CommandFields<C>;
  if (o.type != msgpack::type::MAP) {
    throw FieldError(std::string(command_name_v<C>) + ": expected a dict of its fields, got " +
                     std::string(kind_of(o)));
  }
  std::array<const msgpack::object*, Fields::size> slots{};
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    const msgpack::object_kv& kv = o.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) continue;
    const std::string_view key(kv.key.via.str.ptr, kv.key.via.str.size);
    for (std::size_t j = 0; j < Fields::size; ++j) {
      if (Fields::names[j] == key) slots[j] = &kv.val;
    }
  }
  auto fields = out.pseud_command_tie_();
  [&]<std::size_t... J>(std::index_sequence<J...>) {
    (decode_field(command_name_v<C>, Fields::names[J], slots[J], std::get<J>(fields)), ...);
  }(std::make_index_sequence<Fields::size>{});
}

template <class Stream>
void pack_text(msgpack::packer<Stream>& out, std::string_view text) {
  out.pack_str(static_cast<std::uint32_t>(text.size()));
  out.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
}

/// Packs `command` as a map of its fields, preceded by {"__type__": name} when `tagged`.
template <class Stream, Command C>
void pack_command(msgpack::packer<Stream>& out, const C& command, bool tagged) {
  using Fields = CommandFields<C>;
  out.pack_map(static_cast<std::uint32_t>(Fields::size + (tagged ? 1 : 0)));
  if (tagged) {
    pack_text(out, command_tag_key);
    pack_text(out, command_name_v<C>);
  }
  const auto fields = command.pseud_command_tie_();
  [&]<std::size_t... J>(std::index_sequence<J...>) {
    ((pack_text(out, Fields::names[J]), out.pack(std::get<J>(fields))), ...);
  }(std::make_index_sequence<Fields::size>{});
}

/// `command` as a msgpack map object whose values live in `zone` (the
/// keys point at the static field names).
template <Command C>
void command_object(msgpack::object::with_zone& o, const C& command, bool tagged) {
  using Fields = CommandFields<C>;
  const std::size_t size = Fields::size + (tagged ? 1 : 0);
  o.type = msgpack::type::MAP;
  o.via.map.size = static_cast<std::uint32_t>(size);
  o.via.map.ptr = nullptr;
  if (size == 0) return;
  auto* entries = static_cast<msgpack::object_kv*>(
      o.zone.allocate_align(sizeof(msgpack::object_kv) * size, MSGPACK_ZONE_ALIGNOF(msgpack::object_kv)));
  o.via.map.ptr = entries;
  if (tagged) {
    *entries++ = msgpack::object_kv{msgpack::object(command_tag_key), msgpack::object(command_name_v<C>)};
  }
  const auto fields = command.pseud_command_tie_();
  [&]<std::size_t... J>(std::index_sequence<J...>) {
    ((entries[J] = msgpack::object_kv{msgpack::object(Fields::names[J]), msgpack::object(std::get<J>(fields), o.zone)}),
     ...);
  }(std::make_index_sequence<Fields::size>{});
}

template <class... C>
constexpr bool distinct_wire_names() {
  constexpr std::array<std::string_view, sizeof...(C)> names{command_name_v<C>...};
  for (std::size_t i = 0; i < names.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (names[i] == names[j]) return false;
    }
  }
  return true;
}

}  // namespace detail

/// One of several commands, in the tagged form {"__type__": wire name,
/// ...fields}: a std::variant (std::visit, std::get and
/// std::holds_alternative work on it) that decodes into the alternative its
/// tag names. Decoding throws FieldError for a value that is not a map, a
/// missing or non-str "__type__", an unknown tag, or the chosen command's
/// own field errors. Packing writes the tag first.
template <Command... C>
class OneOf : public std::variant<C...> {
  static_assert(sizeof...(C) > 0, "pseud::OneOf needs at least one command");
  static_assert(detail::distinct_wire_names<C...>(), "pseud::OneOf: two alternatives have the same wire name");

 public:
  using std::variant<C...>::variant;
  using std::variant<C...>::operator=;

  /// The wire name of the command it holds.
  std::string_view wire_name() const noexcept {
    return std::visit([](const auto& command) { return command_name_v<std::remove_cvref_t<decltype(command)>>; },
                      variant());
  }
  /// It as a std::variant.
  const std::variant<C...>& variant() const noexcept { return *this; }

  /// "OneOf<calc.add, calc.mul>".
  static std::string label() { return detail::one_of_label<C...>(); }

  /// Fills `out` from the tagged map `o`; throws FieldError.
  static void decode(const msgpack::object& o, OneOf& out) {
    if (o.type != msgpack::type::MAP) {
      throw FieldError(label() + ": expected a dict with a \"__type__\" key, got " + std::string(detail::kind_of(o)));
    }
    const msgpack::object* tag = nullptr;
    for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
      const msgpack::object_kv& kv = o.via.map.ptr[i];
      if (kv.key.type == msgpack::type::STR &&
          std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == command_tag_key) {
        tag = &kv.val;
      }
    }
    if (!tag) throw FieldError(label() + ": missing field '__type__' (the wire name of the command)");
    if (tag->type != msgpack::type::STR) {
      throw FieldError(label() + ": field '__type__' must be str, got " + std::string(detail::kind_of(*tag)));
    }
    const std::string_view name(tag->via.str.ptr, tag->via.str.size);
    const bool found = ((name == command_name_v<C> && (decode_as<C>(o, out), true)) || ...);
    if (!found) {
      throw FieldError(label() + ": unknown command type " + detail::quoted_for_message(name) +
                       " in field '__type__'");
    }
  }

 private:
  template <class One>
  static void decode_as(const msgpack::object& o, OneOf& out) {
    One command{};
    detail::decode_command(o, command);
    out.template emplace<One>(std::move(command));
  }
};

}  // namespace pseud

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
namespace adaptor {

template <class C>
struct convert<C, std::enable_if_t<pseud::Command<C>>> {
  const msgpack::object& operator()(const msgpack::object& o, C& v) const {
    pseud::detail::decode_command(o, v);
    return o;
  }
};

template <class C>
struct pack<C, std::enable_if_t<pseud::Command<C>>> {
  template <class Stream>
  packer<Stream>& operator()(packer<Stream>& out, const C& v) const {
    pseud::detail::pack_command(out, v, false);
    return out;
  }
};

template <class C>
struct object_with_zone<C, std::enable_if_t<pseud::Command<C>>> {
  void operator()(msgpack::object::with_zone& o, const C& v) const { pseud::detail::command_object(o, v, false); }
};

template <class... C>
struct convert<pseud::OneOf<C...>> {
  const msgpack::object& operator()(const msgpack::object& o, pseud::OneOf<C...>& v) const {
    pseud::OneOf<C...>::decode(o, v);
    return o;
  }
};

template <class... C>
struct pack<pseud::OneOf<C...>> {
  template <class Stream>
  packer<Stream>& operator()(packer<Stream>& out, const pseud::OneOf<C...>& v) const {
    std::visit([&](const auto& command) { pseud::detail::pack_command(out, command, true); }, v.variant());
    return out;
  }
};

template <class... C>
struct object_with_zone<pseud::OneOf<C...>> {
  void operator()(msgpack::object::with_zone& o, const pseud::OneOf<C...>& v) const {
    std::visit([&](const auto& command) { pseud::detail::command_object(o, command, true); }, v.variant());
  }
};

}  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS)
}  // namespace msgpack
