#pragma once
/// Installed internals: whether this thread is any peer's engine thread, where
/// waiting for a reply would stop the replies themselves. Not part of the API.

#include <string_view>

namespace pseud::detail {

/// True on the engine thread of any peer in this process.
bool on_any_engine_thread() noexcept;

/// Throws UsageError naming `what` and `instead` when on_any_engine_thread().
void refuse_on_engine_thread(std::string_view what, std::string_view instead);

/// Throws UsageError for co_await on a Task that was moved from.
[[noreturn]] void throw_moved_from_task();

}  // namespace pseud::detail
