#pragma once
/// Values that cross the wire. C++ types map to msgpack through msgpack-c's
/// own adaptors (MSGPACK_DEFINE_MAP for structs that Python sees as dicts).
/// std::string travels as str (Python str); pseud::Bytes travels as bin
/// (Python bytes); ext types stay opaque (msgpack::type::ext).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <msgpack.hpp>

#include "pseud/detail/wire_buffer.hpp"
#include "pseud/errors.hpp"

namespace pseud {

/// Binary data: packed as msgpack bin, so Python sees `bytes`. Converts from bin or str.
struct Bytes {
  std::string data;

  Bytes() = default;
  explicit Bytes(std::string d) : data(std::move(d)) {}
  Bytes(const void* ptr, std::size_t size) : data(static_cast<const char*>(ptr), size) {}

  friend bool operator==(const Bytes&, const Bytes&) = default;
};

/// Positional arguments left over after named parameters were bound (Python's
/// `*args`), or all of them for a handler without parameter names. A view into
/// the request: valid only while the handler runs.
class Args {
 public:
  Args() = default;
  explicit Args(std::span<const msgpack::object> items) : items_(items) {}

  std::size_t size() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.empty(); }
  const msgpack::object& operator[](std::size_t i) const { return items_[i]; }
  auto begin() const noexcept { return items_.begin(); }
  auto end() const noexcept { return items_.end(); }

  /// Argument `i` converted to T. Throws std::out_of_range or msgpack::type_error.
  template <class T>
  T get(std::size_t i) const {
    if (i >= items_.size()) throw std::out_of_range("positional argument " + std::to_string(i) + " is missing");
    return items_[i].as<T>();
  }

 private:
  std::span<const msgpack::object> items_;
};

/// Keyword arguments left over after named parameters were bound (Python's
/// `**kwargs`). Keys are always strings. A view into the request: valid only
/// while the handler runs.
class Kwargs {
 public:
  using Entry = std::pair<std::string_view, const msgpack::object*>;

  Kwargs() = default;
  void add(std::string_view key, const msgpack::object& value) { entries_.emplace_back(key, &value); }

  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  auto begin() const noexcept { return entries_.begin(); }
  auto end() const noexcept { return entries_.end(); }

  /// The value for `key`, or nullptr.
  const msgpack::object* find(std::string_view key) const noexcept {
    for (const auto& [k, v] : entries_) {
      if (k == key) return v;
    }
    return nullptr;
  }

  /// The value for `key` converted to T, or `fallback` when absent. Throws msgpack::type_error.
  template <class T>
  T get(std::string_view key, T fallback = T{}) const {
    const msgpack::object* value = find(key);
    return value ? value->as<T>() : fallback;
  }

 private:
  std::vector<Entry> entries_;
};

/// Keyword arguments for an outgoing call: `pseud::kw("greeting", "Hi")`.
/// Values are packed when added.
class KeywordArgs {
 public:
  KeywordArgs() = default;

  /// Adds `key=value`; later keys with the same name are sent as given.
  template <class T>
  KeywordArgs& add(std::string_view key, const T& value) {
    msgpack::packer<pseud::detail::WireBuffer> packer(packed_);
    packer.pack_str(static_cast<std::uint32_t>(key.size()));
    packer.pack_str_body(key.data(), static_cast<std::uint32_t>(key.size()));
    packer.pack(value);
    ++count_;
    return *this;
  }

  std::uint32_t size() const noexcept { return count_; }
  /// The packed key/value pairs, without the map header.
  std::string_view packed() const noexcept { return {packed_.data(), packed_.size()}; }

 private:
  pseud::detail::WireBuffer packed_{64};
  std::uint32_t count_ = 0;
};

namespace detail {
inline void add_keywords(KeywordArgs&) {}
template <class V, class... Rest>
void add_keywords(KeywordArgs& out, std::string_view key, const V& value, const Rest&... rest) {
  out.add(key, value);
  add_keywords(out, rest...);
}
}  // namespace detail

/// Builds keyword arguments from alternating names and values:
/// `pseud::kw("greeting", "Hi", "punctuation", "?")`.
template <class... KeyValues>
KeywordArgs kw(const KeyValues&... key_values) {
  static_assert(sizeof...(KeyValues) % 2 == 0, "pseud::kw takes name, value pairs");
  KeywordArgs out;
  detail::add_keywords(out, key_values...);
  return out;
}

}  // namespace pseud

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
namespace adaptor {

template <>
struct pack<pseud::Bytes> {
  template <class Stream>
  packer<Stream>& operator()(packer<Stream>& out, const pseud::Bytes& v) const {
    out.pack_bin(static_cast<std::uint32_t>(v.data.size()));
    out.pack_bin_body(v.data.data(), static_cast<std::uint32_t>(v.data.size()));
    return out;
  }
};

template <>
struct convert<pseud::Bytes> {
  const msgpack::object& operator()(const msgpack::object& o, pseud::Bytes& v) const {
    if (o.type == msgpack::type::BIN) {
      v.data.assign(o.via.bin.ptr, o.via.bin.size);
    } else if (o.type == msgpack::type::STR) {
      v.data.assign(o.via.str.ptr, o.via.str.size);
    } else {
      throw msgpack::type_error();
    }
    return o;
  }
};

template <>
struct pack<pseud::Args> {
  template <class Stream>
  packer<Stream>& operator()(packer<Stream>& out, const pseud::Args& v) const {
    out.pack_array(static_cast<std::uint32_t>(v.size()));
    for (const msgpack::object& item : v) out.pack(item);
    return out;
  }
};

template <>
struct pack<pseud::Kwargs> {
  template <class Stream>
  packer<Stream>& operator()(packer<Stream>& out, const pseud::Kwargs& v) const {
    out.pack_map(static_cast<std::uint32_t>(v.size()));
    for (const auto& [key, value] : v) {
      out.pack_str(static_cast<std::uint32_t>(key.size()));
      out.pack_str_body(key.data(), static_cast<std::uint32_t>(key.size()));
      out.pack(*value);
    }
    return out;
  }
};

}  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS)
}  // namespace msgpack
