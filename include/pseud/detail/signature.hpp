#pragma once
/// Installed template internals: what introspection (`pseud.inspect`) says
/// about a handler's parameters, computed once at registration from the
/// callable's parameter types and RpcOptions::params. Not part of the public
/// API; read it through Route::signature.

#include <array>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <msgpack.hpp>

#include "pseud/detail/handler.hpp"

namespace pseud {

/// One regular parameter as a caller sees it. The ReplyChannel, the identity
/// (Caller) and the *args / **kwargs collectors are filled by pseud and never
/// appear here.
struct ParamInfo {
  std::string name;  ///< empty when the registration gave no names: positional only
  std::string type;  ///< "int", "float", "bool", "str", "bytes", "list", "dict", "any" or "object"
  std::shared_ptr<const msgpack::object_handle> default_value;  ///< null: required
};

/// A handler's parameters, in order, and whether it collects the rest.
struct Signature {
  std::vector<ParamInfo> params;
  bool takes_args = false;    ///< has a pseud::Args parameter (Python's *args)
  bool takes_kwargs = false;  ///< has a pseud::Kwargs parameter (Python's **kwargs)
};

namespace detail {

template <class T>
inline constexpr bool is_list_type_v = false;
template <class T, class A>
inline constexpr bool is_list_type_v<std::vector<T, A>> = true;
template <class T, std::size_t N>
inline constexpr bool is_list_type_v<std::array<T, N>> = true;
template <class... T>
inline constexpr bool is_list_type_v<std::tuple<T...>> = true;

template <class T>
inline constexpr bool is_dict_type_v = false;
template <class K, class V, class C, class A>
inline constexpr bool is_dict_type_v<std::map<K, V, C, A>> = true;
template <class K, class V, class H, class E, class A>
inline constexpr bool is_dict_type_v<std::unordered_map<K, V, H, E, A>> = true;

/// The Python-side name of what a parameter of type T accepts. Unlike
/// type_label() (used in error messages), it names containers and says "any"
/// for a raw msgpack object; other types (structs, optionals) are "object".
template <class T>
std::string_view introspection_type() {
  if constexpr (std::is_same_v<T, msgpack::object> || std::is_same_v<T, msgpack::object_handle>) return "any";
  else if constexpr (std::is_same_v<T, bool> || std::is_arithmetic_v<T> || std::is_same_v<T, std::string> ||
                     std::is_same_v<T, std::string_view> || std::is_same_v<T, Bytes>) return type_label<T>();
  else if constexpr (is_list_type_v<T>) return "list";
  else if constexpr (is_dict_type_v<T>) return "dict";
  else return "object";
}

template <class L, std::size_t... I>
std::vector<ParamInfo> regular_params(std::index_sequence<I...>) {
  return {ParamInfo{{}, std::string(introspection_type<typename L::template at<L::lead + I>>()), nullptr}...};
}

/// The signature of `F` registered with `params` (names, maybe empty) and
/// `with_identity`. Call after make_handler() accepted the same registration.
template <class F>
Signature signature_of(const std::vector<Param>& params, bool with_identity) {
  using Fn = std::decay_t<F>;
  if constexpr (!has_signature_v<Fn> || std::is_member_function_pointer_v<Fn>) {
    return {};  // make_handler() refused it at compile time already
  } else {
    using Tuple = typename callable_traits<Fn>::arguments;
    auto build = [&]<class L>() {
      Signature signature{regular_params<L>(std::make_index_sequence<L::regular>{}), L::takes_args,
                          L::takes_kwargs};
      for (std::size_t i = 0; i < params.size() && i < signature.params.size(); ++i) {
        signature.params[i].name = params[i].name;
        signature.params[i].default_value = params[i].default_value;
      }
      return signature;
    };
    if constexpr (Layout<true, Tuple>::identity == 1) {
      if (with_identity) return build.template operator()<Layout<true, Tuple>>();
    }
    return build.template operator()<Layout<false, Tuple>>();
  }
}

}  // namespace detail
}  // namespace pseud
