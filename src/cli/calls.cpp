#include "cli/calls.hpp"

#include "cli/json.hpp"

namespace pseud::cli {

CallText parse_call_text(const std::string& text, const std::string& usage, const std::string& whole) {
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0) throw UsageProblem(usage + ", not '" + whole + "'");
  CallText call{text.substr(0, colon), text.substr(colon + 1)};
  if (parse_json(call.arguments_json).get().type != msgpack::type::ARRAY) {
    throw UsageProblem("--call: the arguments must be a JSON array, not '" + call.arguments_json + "'");
  }
  return call;
}

}  // namespace pseud::cli
