#pragma once
/// Registries map dotted names to handlers, per domain, as pseud does.
/// A peer owns a local registry whose parent is the process-wide one.

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <msgpack.hpp>

#include "pseud/caller.hpp"
#include "pseud/command.hpp"
#include "pseud/detail/handler.hpp"
#include "pseud/detail/signature.hpp"

namespace pseud {

/// The name of a route that answers every name no other route answers for
/// the caller (a Relay's). Only add_route takes it: its handler reads the
/// name called from its Invocation.
inline constexpr std::string_view any_function = "*";

/// The domain every function lives in unless told otherwise; its predicate always accepts.
inline constexpr std::string_view default_domain = "default";

/// An exception type that is part of a function's contract (lymph's
/// `raises=`): see raises<E>().
struct DeclaredError {
  struct Described {
    std::string name;     ///< the class name the caller sees
    std::string message;  ///< its message
  };
  /// The ERROR to send for `error`, or nullopt when it is not of this type.
  std::function<std::optional<Described>(const std::exception_ptr& error)> describe;
};

namespace detail {
/// Name and message of the exception `error` holds: a RemoteError's own, a
/// standard exception's Python name (ValueError for std::invalid_argument,
/// ...), or else its C++ class name without namespaces, and what().
DeclaredError::Described describe_declared(const std::exception_ptr& error);
}  // namespace detail

/// Declares that a function may raise `E` (or a type derived from it) as
/// part of its contract: the caller gets ERROR with the class name (`name`,
/// or as describe_declared() finds it) and the message. A function with
/// declared exceptions answers any other exception with a bare Nack: nothing
/// of it leaves the process (PeerOptions::on_handler_error sees it).
///
///   server.register_rpc("parse", parse, {.raises = {pseud::raises<std::invalid_argument>()}});
template <class E>
DeclaredError raises(std::string name = {}) {
  static_assert(std::is_base_of_v<std::exception, E>, "pseud::raises<E>: E must derive from std::exception");
  return DeclaredError{[name = std::move(name)](const std::exception_ptr& error) -> std::optional<DeclaredError::Described> {
    try {
      std::rethrow_exception(error);
    } catch (const E&) {
      auto described = detail::describe_declared(error);
      if (!name.empty()) described.name = name;
      return described;
    } catch (...) {
    }
    return std::nullopt;
  }};
}

/// How a function is registered.
struct RpcOptions {
  std::string domain{default_domain};  ///< which predicate guards it
  std::vector<Param> params{};         ///< names (and defaults) of its regular parameters
  bool with_identity = false;          ///< first parameter receives the caller's identity
  bool blocking = false;               ///< run on the worker pool instead of the engine thread
  std::string doc{};                   ///< one-line description, for introspection
  std::vector<DeclaredError> raises{};  ///< exceptions that are part of its contract (see raises<E>())
};

/// One registered function.
struct Route {
  std::string name;
  std::string domain;
  std::string doc;
  bool with_identity = false;
  bool blocking = false;
  detail::Handler handler;
  std::vector<DeclaredError> raises{};
  Signature signature{};  ///< its parameters, for introspection (computed at registration)
};

/// One member function of a service object, for Registry::register_service.
template <class Method>
struct MethodSpec {
  std::string name;
  Method method;
  RpcOptions options;
};

/// `name` -> `method`, with its options: `pseud::method("add", &Calculator::add, {.doc = "a + b"})`.
template <class Method>
MethodSpec<Method> method(std::string name, Method method, RpcOptions options = {}) {
  static_assert(std::is_member_function_pointer_v<Method>, "pseud::method takes a member function: &Class::name");
  return {std::move(name), method, std::move(options)};
}

class ScopedRegistry;

namespace detail {
/// Throws UsageError unless `prefix` can prefix names: non-empty dot-separated parts, no '*'.
void check_scope_prefix(std::string_view prefix);

template <class T>
struct task_value {
  using type = T;
};
template <class T>
struct task_value<Task<T>> {
  using type = T;
};

/// What register_command<C> accepts for `F`, checked at compile time: its
/// last parameter is a C, and it returns what C::result says.
template <class C, class F>
constexpr void check_command_function() {
  using Fn = std::decay_t<F>;
  if constexpr (has_signature_v<Fn> && !std::is_member_function_pointer_v<Fn>) {
    using Tuple = typename callable_traits<Fn>::arguments;
    if constexpr (std::tuple_size_v<Tuple> == 0) {
      static_assert(always_false_v<Fn>, "register_command<C>: the function takes no parameter; its last one is a C");
    } else {
      using Last = std::remove_cvref_t<std::tuple_element_t<std::tuple_size_v<Tuple> - 1, Tuple>>;
      static_assert(std::is_same_v<Last, C>,
                    "register_command<C>: the function's last parameter must be a C (by value or const C&), after "
                    "an optional pseud::ReplyChannel and the caller's identity");
    }
    if constexpr (requires { typename callable_traits<Fn>::result; } && !Layout<false, Tuple>::takes_channel) {
      using Returned = std::remove_cvref_t<typename callable_traits<Fn>::result>;
      using Value = typename task_value<Returned>::type;
      using Expected = command_result_t<C>;
      static_assert(std::is_void_v<Expected> || std::is_same_v<Value, msgpack::object_handle> ||
                        std::is_same_v<Value, msgpack::object> || std::is_convertible_v<Value, Expected>,
                    "register_command<C>: the function must return C::result (or a msgpack::object_handle), "
                    "what execute(C) gives its caller");
    }
  }
}
}  // namespace detail

/// Functions by dotted name and domain, with one predicate per domain.
/// Thread-safe: register and look up from any thread.
class Registry {
 public:
  /// `parent` (may be null) is searched after this registry; it must outlive it.
  explicit Registry(const Registry* parent = nullptr) : parent_(parent) {}
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// Registers `fn` under `name`; argument types are deduced from it.
  /// Registering the same name and domain again replaces the function.
  /// Throws UsageError when `options` do not fit `fn`.
  template <class F>
  void register_rpc(std::string name, F&& fn, RpcOptions options = {}) {
    Signature signature = detail::signature_of<F>(options.params, options.with_identity);
    auto handler = detail::make_handler(std::forward<F>(fn), name, options.params, options.with_identity);
    add_route(Route{std::move(name), std::move(options.domain), std::move(options.doc), options.with_identity,
                    options.blocking, std::move(handler), std::move(options.raises), std::move(signature)});
  }

  /// Registers member function `method` called on `object`, which must
  /// outlive the registration: `register_rpc("add", &Calculator::add, &calculator)`.
  template <class Method, class Object>
    requires std::is_member_function_pointer_v<Method>
  void register_rpc(std::string name, Method method, Object* object, RpcOptions options = {}) {
    if (!object) detail::throw_bad_registration(name, "the object of a member function is null");
    register_rpc(std::move(name), detail::BoundMethod<Method, Object>{method, object}, std::move(options));
  }

  /// Registers several member functions of one object at once, each as
  /// `prefix.name` (`name` alone for an empty prefix): a class-based service.
  ///
  ///   registry.register_service("calc", calculator, pseud::method("add", &Calculator::add),
  ///                             pseud::method("mul", &Calculator::mul, {.doc = "a * b"}));
  template <class Object, class... Methods>
  void register_service(std::string_view prefix, Object& object, MethodSpec<Methods>... methods) {
    static_assert(sizeof...(Methods) > 0, "register_service: name at least one method");
    (register_rpc(prefix.empty() ? std::move(methods.name) : std::string(prefix) + "." + methods.name,
                  methods.method, &object, std::move(methods.options)),
     ...);
  }

  /// Registers `fn`, whose last parameter is a `C` (command.hpp), under C's
  /// wire name: `registry.register_command<Add>([](const Add& a) { return a.a + a.b; })`.
  /// Before the C it may take what register_rpc allows (a ReplyChannel, the
  /// caller's identity with RpcOptions::with_identity, a const Caller&); it
  /// returns C::result. Its one parameter is called "command" unless
  /// `options.params` names it. Callers send the fields as a dict; one with
  /// a missing or mistyped field gets a TypeError naming it.
  /// Throws UsageError when another C++ type registered C's wire name
  /// anywhere in the process (the same type again replaces, as register_rpc does).
  template <Command C, class F>
  void register_command(F&& fn, RpcOptions options = {}) {
    register_command_as<C>(std::string(command_name_v<C>), std::forward<F>(fn), std::move(options));
  }

  /// A view that registers every name as `prefix.name` (Vortex's per-plugin
  /// namespacing): `registry.scoped("peek_plugin_tutorial").register_rpc("add", ...)`
  /// registers "peek_plugin_tutorial.add". Throws UsageError for an empty
  /// prefix, one that starts or ends with '.', has an empty part or a '*'.
  /// The view refers to this registry, which must outlive it.
  ScopedRegistry scoped(std::string prefix);

  /// Adds a prepared route (replacing one with the same name and domain).
  void add_route(Route route);

  /// Removes a function; returns false when it was not registered here.
  bool unregister_rpc(std::string_view name, std::string_view domain = default_domain);

  /// Sets the predicate guarding `domain`. A non-default domain without a
  /// predicate refuses everyone (fail closed).
  void set_predicate(std::string domain, Predicate predicate);

  /// Finds the function a caller with `args` reaches under `name`: non-default
  /// domains first, the first whose predicate accepts wins, this registry
  /// before its parent. Returns null when none does.
  std::shared_ptr<const Route> lookup(std::string_view name, const PredicateArgs& args) const;

  /// Names, domains and docs of the functions a caller with `args` can reach, sorted by name.
  std::vector<std::shared_ptr<const Route>> visible_routes(const PredicateArgs& args) const;

 private:
  friend class ScopedRegistry;

  // register_command<C> under `name` (C's wire name, or a scope's `prefix.wire name`).
  template <Command C, class F>
  void register_command_as(std::string name, F&& fn, RpcOptions options) {
    detail::check_command_function<C, F>();
    if constexpr (detail::has_signature_v<std::decay_t<F>>) {
      using Tuple = typename detail::callable_traits<std::decay_t<F>>::arguments;
      const std::size_t regular = options.with_identity && detail::Layout<true, Tuple>::identity == 1
                                      ? detail::Layout<true, Tuple>::regular
                                      : detail::Layout<false, Tuple>::regular;
      if (regular != 1) {
        detail::throw_bad_registration(name, "a command's function takes the command as its one regular "
                                             "parameter, after an optional pseud::ReplyChannel and the caller's "
                                             "identity (RpcOptions::with_identity, or a const pseud::Caller&); "
                                             "this one takes " + std::to_string(regular));
      }
    }
    if (options.params.empty()) options.params = {"command"};
    detail::claim_command_name(command_name_v<C>, typeid(C));
    Signature signature = detail::signature_of<F>(options.params, options.with_identity);
    auto handler = detail::make_handler(std::forward<F>(fn), name, options.params, options.with_identity);
    for (ParamInfo& param : signature.params) param.type = "dict";  // one: the command, sent as a dict
    add_route(Route{std::move(name), std::move(options.domain), std::move(options.doc), options.with_identity,
                    options.blocking, std::move(handler), std::move(options.raises), std::move(signature)});
  }

  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using RouteList = std::vector<std::shared_ptr<const Route>>;

  void collect(std::string_view name, RouteList& out) const;
  bool accepts(std::string_view domain, const PredicateArgs& args) const;

  const Registry* parent_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, RouteList, NameHash, std::equal_to<>> routes_;
  std::unordered_map<std::string, Predicate, NameHash, std::equal_to<>> predicates_;
};

/// A registry seen through a prefix: every name registered or removed
/// through it is `prefix.name` in the registry (Registry::scoped). Cheap to
/// copy; introspection (pseud.inspect) shows the full names. A command
/// registered through it is called as `prefix.wire name` (Target::execute
/// with the scope); its wire name, in the tagged form, stays its own.
class ScopedRegistry {
 public:
  /// Throws UsageError for a prefix Registry::scoped refuses.
  ScopedRegistry(Registry& registry, std::string prefix) : registry_(&registry), prefix_(std::move(prefix)) {
    detail::check_scope_prefix(prefix_);
  }

  /// The prefix, without the trailing '.': "a.b".
  const std::string& prefix() const noexcept { return prefix_; }
  /// The registry names go into.
  Registry& registry() const noexcept { return *registry_; }
  /// `name` as registered through this view: "prefix.name".
  std::string full_name(std::string_view name) const { return prefix_ + "." + std::string(name); }

  /// A view nested in this one: scoped("a").scoped("b") registers "a.b.name".
  ScopedRegistry scoped(std::string_view prefix) const {
    detail::check_scope_prefix(prefix);
    return ScopedRegistry(*registry_, full_name(prefix));
  }

  /// Registry::register_rpc as `prefix.name`.
  template <class F>
  void register_rpc(std::string_view name, F&& fn, RpcOptions options = {}) {
    registry_->register_rpc(full_name(name), std::forward<F>(fn), std::move(options));
  }
  /// Registry::register_rpc of a member function, as `prefix.name`.
  template <class Method, class Object>
    requires std::is_member_function_pointer_v<Method>
  void register_rpc(std::string_view name, Method method, Object* object, RpcOptions options = {}) {
    registry_->register_rpc(full_name(name), method, object, std::move(options));
  }
  /// Registry::register_service, each method as `prefix.service_prefix.name`
  /// (`prefix.name` for an empty service prefix).
  template <class Object, class... Methods>
  void register_service(std::string_view service_prefix, Object& object, MethodSpec<Methods>... methods) {
    registry_->register_service(service_prefix.empty() ? prefix_ : full_name(service_prefix), object,
                                std::move(methods)...);
  }
  /// Registry::register_command, as `prefix.wire name`.
  template <Command C, class F>
  void register_command(F&& fn, RpcOptions options = {}) {
    registry_->register_command_as<C>(full_name(command_name_v<C>), std::forward<F>(fn), std::move(options));
  }
  /// Registry::unregister_rpc of `prefix.name`.
  bool unregister_rpc(std::string_view name, std::string_view domain = default_domain) {
    return registry_->unregister_rpc(full_name(name), domain);
  }

 private:
  Registry* registry_;
  std::string prefix_;
};

inline ScopedRegistry Registry::scoped(std::string prefix) { return ScopedRegistry(*this, std::move(prefix)); }

/// The process-wide registry every peer's local registry falls back to.
Registry& global_registry();

/// Registers `fn` in the process-wide registry.
template <class F>
void register_rpc(std::string name, F&& fn, RpcOptions options = {}) {
  global_registry().register_rpc(std::move(name), std::forward<F>(fn), std::move(options));
}

}  // namespace pseud
