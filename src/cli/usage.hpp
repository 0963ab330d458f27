#pragma once
// The pseud tool's exit statuses, and the error that means "used wrongly".

#include "pseud/errors.hpp"

namespace pseud::cli {

/// Exit statuses of the tool.
enum Exit : int { ok = 0, remote_error = 1, unreachable = 2, usage = 3 };

/// A usage or set-up error: printed on stderr, exit status 3.
class UsageProblem : public UsageError {
 public:
  using UsageError::UsageError;
};

}  // namespace pseud::cli
