#pragma once
/// Installed template internals: turning any callable into a type-erased
/// handler that binds pseud's `[args, kwargs]` to its parameters. Not part of
/// the public API; use Registry::register_rpc.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <msgpack.hpp>

#include "pseud/caller.hpp"
#include "pseud/detail/work_body.hpp"
#include "pseud/errors.hpp"
#include "pseud/field_error.hpp"
#include "pseud/reply_channel.hpp"
#include "pseud/task.hpp"
#include "pseud/values.hpp"

namespace pseud {

/// A named parameter, optionally with a default used when the caller omits it.
struct Param {
  std::string name;
  std::shared_ptr<const msgpack::object_handle> default_value;  ///< null: required

  Param(std::string n) : name(std::move(n)) {}  // NOLINT: implicit from a name on purpose
  Param(const char* n) : name(n) {}             // NOLINT
};

/// A parameter with a default: `pseud::param("greeting", "Hello")`.
template <class T>
Param param(std::string name, const T& default_value) {
  Param p(std::move(name));
  pseud::detail::WireBuffer packed;
  msgpack::pack(packed, default_value);
  p.default_value = std::make_shared<const msgpack::object_handle>(msgpack::unpack(packed.data(), packed.size()));
  return p;
}

/// A required named parameter: `pseud::param("name")`.
inline Param param(std::string name) { return Param(std::move(name)); }

namespace detail {

/// Most regular (named or positional) parameters one handler may declare.
inline constexpr std::size_t max_parameters = 16;

/// Opens the ReplyChannel of the call being handled (the engine's side).
class ReplyOpener {
 public:
  /// Throws OverloadedError when the caller holds too many open channels.
  virtual ReplyChannel open() = 0;

 protected:
  ~ReplyOpener() = default;
};

/// One request as the engine hands it to a handler: the decoded WORK body,
/// who sent it and, for a handler that answers through a channel, its opener.
struct Invocation : WorkBody {
  const Caller* caller = nullptr;
  ReplyOpener* replies = nullptr;
};

using Packer = msgpack::packer<pseud::detail::WireBuffer>;

/// A type-erased handler: binds, runs, packs the result. Throws what the function throws.
using Handler = std::function<void(const Invocation&, Packer&)>;

/// What a handler's parameter list expects, for the binder.
struct BindPlan {
  std::size_t regular = 0;     ///< parameters bound from args/kwargs
  bool takes_args = false;     ///< has a trailing pseud::Args collector
  bool takes_kwargs = false;   ///< has a trailing pseud::Kwargs collector
  std::vector<Param> params;   ///< names and defaults of the regular parameters (may be empty)
};

/// Result of binding one request to a plan.
struct Bound {
  std::array<const msgpack::object*, max_parameters> slots{};
  Args extra_args;
  Kwargs extra_kwargs;
};

/// The caller's arguments do not fit the function: a TypeError with
/// Python's wording. It is about the call, not the function, so it goes out
/// as it is whatever the function declares (RpcOptions::raises).
class ArgumentError : public RemoteError {
 public:
  explicit ArgumentError(std::string message) : RemoteError("TypeError", std::move(message)) {}
};

/// Binds positionals, keywords and defaults as Python does; throws
/// ArgumentError (a TypeError) with Python's wording on a mismatch.
void bind_arguments(const BindPlan& plan, const Invocation& call, Bound& out);

/// Throws ArgumentError naming the parameter that did not convert.
[[noreturn]] void throw_argument_type_error(std::string_view function, const BindPlan& plan, std::size_t index,
                                            std::string_view expected);

/// Throws ArgumentError: `function`() argument 'name': `problem` (a FieldError's text).
[[noreturn]] inline void throw_argument_field_error(std::string_view function, const BindPlan& plan,
                                                    std::size_t index, std::string_view problem) {
  const std::string label = index < plan.params.size() ? "'" + plan.params[index].name + "'"
                                                        : "#" + std::to_string(index + 1);
  throw ArgumentError(std::string(function) + "() argument " + label + ": " + std::string(problem));
}

/// Throws UsageError for a registration that cannot work.
[[noreturn]] void throw_bad_registration(std::string_view function, std::string_view why);

/// The parameter list of a callable, as `arguments` (a std::tuple): for a
/// function, a function pointer, a member function pointer (without its
/// object), a class with one non-template operator(), and std::bind_front of
/// any of these. Anything else (a generic lambda, an overload set, a class
/// with several operator()) has no `arguments`.
template <class T, class = void>
struct callable_traits {};
template <class T>
struct callable_traits<T, std::void_t<decltype(&std::remove_cvref_t<T>::operator())>>
    : callable_traits<decltype(&std::remove_cvref_t<T>::operator())> {};
template <class R, class... A>
struct callable_traits<R (*)(A...)> {
  using arguments = std::tuple<A...>;
  using result = R;
};
template <class R, class... A>
struct callable_traits<R (*)(A...) noexcept> : callable_traits<R (*)(A...)> {};
template <class R, class... A>
struct callable_traits<R(A...)> : callable_traits<R (*)(A...)> {};
template <class R, class... A>
struct callable_traits<R(A...) noexcept> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...)> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) const> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) noexcept> : callable_traits<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) const noexcept> : callable_traits<R (*)(A...)> {};

/// `Tuple` without its first `N` elements.
template <std::size_t N, class Tuple, class = std::make_index_sequence<std::tuple_size_v<Tuple> - N>>
struct drop_front;
template <std::size_t N, class Tuple, std::size_t... I>
struct drop_front<N, Tuple, std::index_sequence<I...>> {
  using type = std::tuple<std::tuple_element_t<N + I, Tuple>...>;
};

#if defined(__GLIBCXX__)
// std::bind_front(f, bound...) (libstdc++'s type): f's parameters after the
// bound ones (for a member function, the first bound one is the object).
template <class F, class... Bound>
struct callable_traits<std::_Bind_front<F, Bound...>, void> {
  static constexpr std::size_t object = std::is_member_function_pointer_v<F> ? 1 : 0;
  static_assert(sizeof...(Bound) >= object, "std::bind_front of a member function needs its object");
  using arguments = typename drop_front<sizeof...(Bound) - object, typename callable_traits<F>::arguments>::type;
};
#endif

/// True when pseud can read the parameters of `F` (see callable_traits).
template <class F, class = void>
inline constexpr bool has_signature_v = false;
template <class F>
inline constexpr bool has_signature_v<F, std::void_t<typename callable_traits<F>::arguments>> = true;

/// A member function and the object it is called on, as one callable with
/// the member function's parameters.
template <class Method, class Object, class Tuple = typename callable_traits<Method>::arguments>
struct BoundMethod;
template <class Method, class Object, class... A>
struct BoundMethod<Method, Object, std::tuple<A...>> {
  Method method;
  Object* object;
  decltype(auto) operator()(A... args) const { return (object->*method)(std::forward<A>(args)...); }
};

template <class T, class U>
inline constexpr bool is_v = std::is_same_v<std::remove_cvref_t<T>, U>;

template <class T>
inline constexpr bool is_identity_type_v =
    is_v<T, Caller> || is_v<T, std::string> || is_v<T, std::string_view> || is_v<T, Bytes>;

/// Roles of a parameter list: [ReplyChannel] [identity] regular... [Args] [Kwargs].
template <bool WithIdentity, class Tuple>
struct Layout;

template <bool WithIdentity, class... A>
struct Layout<WithIdentity, std::tuple<A...>> {
  static constexpr std::size_t size = sizeof...(A);
  template <std::size_t I>
  using at = std::tuple_element_t<I, std::tuple<std::remove_cvref_t<A>...>>;

  static constexpr bool takes_channel = [] {
    if constexpr (size == 0) {
      return false;
    } else {
      return is_v<at<0>, ReplyChannel>;
    }
  }();
  static constexpr std::size_t identity = [] {
    constexpr std::size_t at_index = takes_channel ? 1 : 0;
    if constexpr (size <= at_index) {
      return std::size_t{0};
    } else {
      using first = at<at_index>;
      return (is_v<first, Caller> || (WithIdentity && is_identity_type_v<first>)) ? std::size_t{1} : std::size_t{0};
    }
  }();
  static constexpr std::size_t lead = (takes_channel ? 1 : 0) + identity;
  static constexpr bool takes_kwargs = [] {
    if constexpr (size > lead) return is_v<at<size - 1>, Kwargs>;
    return false;
  }();
  static constexpr bool takes_args = [] {
    constexpr std::size_t tail = takes_kwargs ? 1 : 0;
    if constexpr (size > lead + tail) return is_v<at<size - 1 - tail>, Args>;
    return false;
  }();
  static constexpr std::size_t regular = size - lead - (takes_args ? 1 : 0) - (takes_kwargs ? 1 : 0);
};

template <class T>
std::string_view type_label() {
  if constexpr (std::is_same_v<T, bool>) return "bool";
  else if constexpr (std::is_integral_v<T>) return "int";
  else if constexpr (std::is_floating_point_v<T>) return "float";
  else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>) return "str";
  else if constexpr (std::is_same_v<T, Bytes>) return "bytes";
  else return "the declared C++ type";
}

// Produces the value for parameter J of type T.
template <class L, std::size_t J, class T>
decltype(auto) argument(const Bound& bound, const Invocation& call, const BindPlan& plan) {
  if constexpr (J < L::lead) {
    if constexpr (is_v<T, ReplyChannel>) {
      return call.replies->open();
    } else if constexpr (is_v<T, Caller>) {
      return static_cast<const Caller&>(*call.caller);
    } else if constexpr (is_v<T, Bytes>) {
      return Bytes(call.caller->identity());
    } else {
      return std::remove_cvref_t<T>(call.caller->identity());
    }
  } else if constexpr (J < L::lead + L::regular) {
    using V = std::remove_cvref_t<T>;
    try {
      return bound.slots[J - L::lead]->template as<V>();
    } catch (const FieldError& e) {  // a typed command (command.hpp) naming its field
      throw_argument_field_error(call.name, plan, J - L::lead, e.what());
    } catch (const msgpack::type_error&) {
      throw_argument_type_error(call.name, plan, J - L::lead, type_label<V>());
    }
  } else if constexpr (is_v<T, Args>) {
    return static_cast<const Args&>(bound.extra_args);
  } else {
    return static_cast<const Kwargs&>(bound.extra_kwargs);
  }
}

/// Whether a coroutine may take parameters of these types: none may refer
/// to what the engine frees once the handler first returns.
template <class T>
inline constexpr bool coroutine_safe_parameter_v =
    !std::is_reference_v<T> && !is_v<T, std::string_view> && !is_v<T, msgpack::object>;
template <class Tuple>
inline constexpr bool coroutine_safe_v = false;
template <class... A>
inline constexpr bool coroutine_safe_v<std::tuple<A...>> = (coroutine_safe_parameter_v<A> && ...);

/// Answers a coroutine handler's call when its task finishes.
template <class T>
struct TaskAnswer {
  ReplyChannel channel;
  void operator()(Result<T>&& result) {
    if (!result.ok()) {
      channel.fail(result.error());
    } else if constexpr (std::is_void_v<T>) {
      channel.ack();
    } else if constexpr (std::is_same_v<T, msgpack::object_handle>) {
      channel.reply(result.get().get());
    } else {
      channel.reply(result.get());
    }
  }
};

template <class L, class F, class Tuple, std::size_t... J>
void invoke_and_pack(F& fn, const Bound& bound, const Invocation& call, const BindPlan& plan, Packer& out,
                     std::index_sequence<J...>) {
  // Braced init evaluates the arguments left to right.
  using Result = std::invoke_result_t<F&, decltype(argument<L, J, std::tuple_element_t<J, Tuple>>(bound, call, plan))...>;
  std::tuple<decltype(argument<L, J, std::tuple_element_t<J, Tuple>>(bound, call, plan))...> values{
      argument<L, J, std::tuple_element_t<J, Tuple>>(bound, call, plan)...};
  if constexpr (L::takes_channel) {
    static_assert(std::is_void_v<Result>, "a handler that takes a pseud::ReplyChannel answers through it: return void");
    std::apply(fn, std::move(values));  // the channel answers; nothing is packed here
  } else if constexpr (is_task_v<std::remove_cvref_t<Result>>) {
    static_assert(coroutine_safe_v<Tuple>,
                  "pseud: a coroutine handler (returning pseud::Task) takes its parameters by value (std::string, "
                  "pseud::Caller, pseud::Args, ...): a reference, std::string_view or msgpack::object would dangle "
                  "once it waits");
    // The channel is opened first, so a caller over its budget is refused
    // before the coroutine exists; it answers when the task finishes.
    ReplyChannel channel = call.replies->open();
    start_detached(std::apply(fn, std::move(values)), TaskAnswer<typename Result::value_type>{std::move(channel)});
  } else if constexpr (std::is_void_v<Result>) {
    std::apply(fn, std::move(values));
    out.pack_nil();
  } else if constexpr (std::is_same_v<std::remove_cvref_t<Result>, msgpack::object_handle>) {
    out.pack(std::apply(fn, std::move(values)).get());
  } else {
    out.pack(std::apply(fn, std::move(values)));
  }
}

template <bool WithIdentity, class F>
Handler make_handler_for(F fn, std::string_view name, std::vector<Param> params) {
  using Tuple = typename callable_traits<F>::arguments;
  using L = Layout<WithIdentity, Tuple>;
  static_assert(L::regular <= max_parameters, "a pseud handler takes at most 16 regular parameters");
  if (!params.empty() && params.size() != L::regular) {
    throw_bad_registration(name, std::to_string(params.size()) + " parameter names given for a callable with " +
                                     std::to_string(L::regular) + " regular parameters");
  }
  auto plan = std::make_shared<const BindPlan>(BindPlan{L::regular, L::takes_args, L::takes_kwargs, std::move(params)});
  return [fn = std::move(fn), plan](const Invocation& call, Packer& out) mutable {
    Bound bound;
    bind_arguments(*plan, call, bound);
    invoke_and_pack<L, F, Tuple>(fn, bound, call, *plan, out, std::make_index_sequence<L::size>{});
  };
}

/// Builds the handler for `fn`. Throws UsageError when `with_identity` is
/// set but the first parameter cannot receive an identity.
template <class>
inline constexpr bool always_false_v = false;

template <class F>
Handler make_handler(F&& fn, std::string_view name, std::vector<Param> params, bool with_identity) {
  using Fn = std::decay_t<F>;  // a plain function becomes a function pointer
  if constexpr (std::is_member_function_pointer_v<Fn>) {
    static_assert(always_false_v<Fn>,
                  "pseud: a member function needs its object: register_rpc(name, &Class::method, &object)");
    return {};
  } else if constexpr (!has_signature_v<Fn>) {
    static_assert(always_false_v<Fn>,
                  "pseud: cannot read this callable's parameters (a generic lambda, or a class with a template or "
                  "several operator()): give its parameters types, e.g. [](int a, int b) { ... }");
    return {};
  } else {
    using Tuple = typename callable_traits<Fn>::arguments;
    if (with_identity) {
      if constexpr (Layout<true, Tuple>::identity == 1) {
        return make_handler_for<true>(Fn(std::forward<F>(fn)), name, std::move(params));
      } else {
        throw_bad_registration(name,
                               "with_identity needs a first parameter (after a pseud::ReplyChannel, if any) of "
                               "type std::string, std::string_view, pseud::Bytes or const pseud::Caller&");
      }
    }
    return make_handler_for<false>(Fn(std::forward<F>(fn)), name, std::move(params));
  }
}

}  // namespace detail
}  // namespace pseud
