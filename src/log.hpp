#pragma once
// The library's own code logs through the public front end (pseud/log.hpp);
// these names let code in pseud::detail write log(...) unqualified.

#include "pseud/log.hpp"

namespace pseud::detail {

using pseud::log;
using pseud::log_enabled;
using pseud::log_write;

}  // namespace pseud::detail
