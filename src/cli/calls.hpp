#pragma once
// The pseud tool: a call given on the command line as FUNC:JSON_ARRAY
// (`pseud plugin --call`; `pseud serve --call` puts PEER: in front), and one
// call made and printed as `pseud call` prints it.

#include <exception>
#include <string>

#include <msgpack.hpp>

#include "cli/usage.hpp"
#include "cli/output.hpp"
#include "pseud/call.hpp"
#include "pseud/values.hpp"

namespace pseud::cli {

/// A --call's FUNC and its arguments.
struct CallText {
  std::string function;
  std::string arguments_json;  ///< a JSON array
};

/// Splits FUNC:JSON_ARRAY at its first ':' and checks that the arguments are
/// a JSON array. Throws UsageProblem: `usage` (what --call takes) followed by
/// ", not '<whole>'" when there is no FUNC, and JsonError for invalid JSON.
CallText parse_call_text(const std::string& text, const std::string& usage, const std::string& whole);

/// Calls `function` and prints one line as `pseud call` does: {"result": ...}
/// or {"error": {"name": ..., "message": ...}}. Returns 0, or the exit status
/// its failure means (exit_status_of).
template <class Caller>
int call_and_print_line(Caller& caller, const std::string& function, const Args& args, const Kwargs& kwargs,
                        const CallOptions& options) {
  try {
    auto result = caller.template call<msgpack::object_handle>(function, args, kwargs, options);
    print_line(result_line(result.get()));
    return Exit::ok;
  } catch (...) {
    print_line(error_line(std::current_exception()));
    return exit_status_of(std::current_exception());
  }
}

}  // namespace pseud::cli
