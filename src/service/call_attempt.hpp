#pragma once
// Layer 5 (service): one call of a ServiceClient as it moves between
// instances: the packed call (kept to send again), the instances it was
// tried on, and how it ends.

#include <exception>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "pseud/detail/outgoing_call.hpp"

namespace pseud::detail {

struct CallAttempt {
  OutgoingCall call;  // call.on_reply is the caller's completion; options carry an absolute deadline
  std::vector<std::string> tried;  // keys of the instances that could not take it
  std::exception_ptr last_error;   // why the last of them could not
  std::optional<std::stop_callback<std::function<void()>>> on_cancel;  // wakes the waiting room
};

}  // namespace pseud::detail
