// Layer 4 (engine): which threads are engine threads, so that a blocking
// wait there (a call to any peer, sync_wait) is refused instead of
// deadlocking: the engine that would deliver the reply may be this one, or
// wait on this one in turn.

#include "pseud/detail/engine_thread.hpp"

#include <string>

#include "engine/engine.hpp"
#include "pseud/errors.hpp"

namespace pseud::detail {

namespace {
thread_local bool engine_thread = false;
}  // namespace

void mark_engine_thread() noexcept { engine_thread = true; }

bool on_any_engine_thread() noexcept { return engine_thread; }

void refuse_on_engine_thread(std::string_view what, std::string_view instead) {
  if (!engine_thread) return;
  throw UsageError(std::string(what) +
                   " would block a peer's engine thread (handlers, callbacks and co_call continuations run "
                   "there) and could deadlock: " + std::string(instead));
}

void throw_moved_from_task() { throw UsageError("co_await on a pseud::Task that was moved from"); }

}  // namespace pseud::detail
