// Layer 5: the futex a blocking call() sleeps on (pseud/detail/outgoing_call.hpp).

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pseud/detail/outgoing_call.hpp"

namespace pseud::detail {

namespace {

constexpr int waiting = 0, done = 1, sleeping = 2;

void futex(std::atomic<int>& word, int operation, int value) noexcept {
  static_assert(sizeof(std::atomic<int>) == sizeof(int));
  ::syscall(SYS_futex, reinterpret_cast<int*>(&word), operation, value, nullptr, nullptr, 0);
}

}  // namespace

void ReplyWaiter::mark_done() noexcept {
  if (state_.exchange(done, std::memory_order_acq_rel) == sleeping) futex(state_, FUTEX_WAKE_PRIVATE, 1);
}

void ReplyWaiter::wait_done() noexcept {
  int expected = waiting;
  if (!state_.compare_exchange_strong(expected, sleeping, std::memory_order_acquire) && expected == done) return;
  // Spurious wake-ups and EINTR just go round again.
  while (state_.load(std::memory_order_acquire) != done) futex(state_, FUTEX_WAIT_PRIVATE, sleeping);
}

}  // namespace pseud::detail
