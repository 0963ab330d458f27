#include "engine/in_flight.hpp"

namespace pseud::detail {

std::shared_ptr<InFlightRequests::Hold> InFlightRequests::hold() {
  auto made = std::make_shared<Hold>(shared_from_this());
  count_.fetch_add(1, std::memory_order_acq_rel);
  return made;
}

void InFlightRequests::release() noexcept {
  if (count_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  // The last one: a waiter checks the count under the lock, so taking it
  // here means it either saw zero or is waiting for this notification.
  std::lock_guard lock(mutex_);
  idle_.notify_all();
}

bool InFlightRequests::wait_idle(Clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return idle_.wait_until(lock, deadline, [this] { return interrupted_ || count() == 0; }) && count() == 0;
}

void InFlightRequests::interrupt() {
  std::lock_guard lock(mutex_);
  interrupted_ = true;
  idle_.notify_all();
}

}  // namespace pseud::detail
