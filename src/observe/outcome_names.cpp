#include "pseud/interceptor.hpp"

namespace pseud {

std::string_view call_outcome_name(CallOutcome outcome) noexcept {
  switch (outcome) {
    case CallOutcome::ok: return "ok";
    case CallOutcome::error: return "error";
    case CallOutcome::refused: return "refused";
    case CallOutcome::timeout: return "timeout";
    case CallOutcome::cancelled: return "cancelled";
    case CallOutcome::unreachable: return "unreachable";
    case CallOutcome::failed: return "failed";
    case CallOutcome::abandoned: return "abandoned";
  }
  return "unknown";
}

std::string_view call_direction_name(CallDirection direction) noexcept {
  return direction == CallDirection::incoming ? "incoming" : "outgoing";
}

}  // namespace pseud
