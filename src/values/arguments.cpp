// Layer 2 (values): binding pseud's [args, kwargs] to a handler's
// parameters with Python's rules and Python's error wording.

#include <string>

#include "pseud/detail/handler.hpp"

namespace pseud::detail {

namespace {

std::string_view key_of(const msgpack::object_kv& kv) { return {kv.key.via.str.ptr, kv.key.via.str.size}; }

[[noreturn]] void type_error(std::string_view function, const std::string& what) {
  throw ArgumentError(std::string(function) + "() " + what);
}

std::string plural(std::size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

std::string parameter_label(const BindPlan& plan, std::size_t index) {
  if (index < plan.params.size()) return "'" + plan.params[index].name + "'";
  return "#" + std::to_string(index + 1);
}

}  // namespace

void bind_arguments(const BindPlan& plan, const Invocation& call, Bound& out) {
  const std::size_t given = call.arg_count;
  if (given > plan.regular) {
    if (!plan.takes_args) {
      type_error(call.name, "takes " + plural(plan.regular, "positional argument") + " but " +
                                    std::to_string(given) + (given == 1 ? " was" : " were") + " given");
    }
    out.extra_args = Args({call.args + plan.regular, given - plan.regular});
  }
  for (std::size_t i = 0; i < given && i < plan.regular; ++i) out.slots[i] = &call.args[i];

  for (std::uint32_t k = 0; k < call.kwarg_count; ++k) {
    const msgpack::object_kv& kv = call.kwargs[k];
    const std::string_view key = key_of(kv);
    std::size_t index = plan.params.size();
    for (std::size_t i = 0; i < plan.params.size(); ++i) {
      if (plan.params[i].name == key) {
        index = i;
        break;
      }
    }
    if (index < plan.params.size()) {
      if (out.slots[index]) type_error(call.name, "got multiple values for argument '" + std::string(key) + "'");
      out.slots[index] = &kv.val;
    } else if (plan.takes_kwargs) {
      if (out.extra_kwargs.find(key)) {
        type_error(call.name, "got multiple values for keyword argument '" + std::string(key) + "'");
      }
      out.extra_kwargs.add(key, kv.val);
    } else {
      type_error(call.name, "got an unexpected keyword argument '" + std::string(key) + "'");
    }
  }

  std::string missing;
  std::size_t missing_count = 0;
  for (std::size_t i = 0; i < plan.regular; ++i) {
    if (out.slots[i]) continue;
    if (i < plan.params.size() && plan.params[i].default_value) {
      out.slots[i] = &plan.params[i].default_value->get();
      continue;
    }
    missing += (missing_count++ ? ", " : "") + parameter_label(plan, i);
  }
  if (missing_count) {
    type_error(call.name, "missing " + plural(missing_count, "required argument") + ": " + missing);
  }
}

void throw_argument_type_error(std::string_view function, const BindPlan& plan, std::size_t index,
                               std::string_view expected) {
  type_error(function, "argument " + parameter_label(plan, index) + " must be " + std::string(expected));
}

void throw_bad_registration(std::string_view function, std::string_view why) {
  throw UsageError("register_rpc('" + std::string(function) + "'): " + std::string(why));
}

}  // namespace pseud::detail
