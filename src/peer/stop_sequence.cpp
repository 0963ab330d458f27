#include "peer/stop_sequence.hpp"

#include <string>

#include "log.hpp"
#include "pseud/errors.hpp"

namespace pseud::detail {

void StopSequence::add_hook(std::function<void()> hook) {
  if (!hook) throw UsageError("on_stopping: the hook is empty; pass a callable");
  std::lock_guard lock(mutex_);
  if (hooks_.size() >= max_hooks) {
    throw UsageError("on_stopping: this peer has " + std::to_string(max_hooks) +
                     " hooks already, the limit; do several things in one hook");
  }
  hooks_.push_back(std::move(hook));
}

void StopSequence::run_hooks() {
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard lock(mutex_);
    if (ran_) return;
    ran_ = true;
    hooks.swap(hooks_);
  }
  for (auto& hook : hooks) {
    try {
      hook();
    } catch (const std::exception& e) {
      log(LogLevel::error, "pseud: an on_stopping hook threw: ", e.what(), "; the peer goes on stopping");
    } catch (...) {
      log(LogLevel::error, "pseud: an on_stopping hook threw a non-std exception; the peer goes on stopping");
    }
  }
}

}  // namespace pseud::detail
