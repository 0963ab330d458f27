#pragma once
// Splits what a plugin writes to a pipe into lines, bounded: a line longer
// than the limit is delivered cut at the limit (marked) and the rest of it
// skipped, so a plugin that never writes "\n" cannot grow the host's memory.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace pseud::detail {

class LineSplitter {
 public:
  using Sink = std::function<void(std::string_view line)>;

  explicit LineSplitter(std::size_t max_line) : max_line_(max_line) {}

  /// Takes bytes as they come; calls `sink` for every line they complete
  /// (without its "\n" and a "\r" before it).
  void feed(std::string_view bytes, const Sink& sink);
  /// The stream ended: delivers a last line that had no "\n".
  void finish(const Sink& sink);

 private:
  void deliver(const Sink& sink);

  std::size_t max_line_;
  std::string pending_;
  bool cut_ = false;  // the current line passed the limit: skip to its end
};

}  // namespace pseud::detail
