#pragma once
// Line-based talk between the load processes over pipes: bounded reads of a
// line or of raw bytes from a descriptor, and whole-line writes.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pseud::load {

/// Buffered reads from one descriptor; every read is bounded by a deadline.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}

  int fd() const noexcept { return fd_; }

  /// The next line without its newline, or nullopt at EOF or once `deadline_ns` (monotonic) passed.
  std::optional<std::string> line(std::int64_t deadline_ns);

  /// Exactly `size` bytes, or nullopt at EOF or once `deadline_ns` passed.
  std::optional<std::string> bytes(std::size_t size, std::int64_t deadline_ns);

  /// True when a complete line is already buffered (no need to wait on the descriptor).
  bool has_line() const noexcept { return buffer_.find('\n') != std::string::npos; }

 private:
  bool fill(std::int64_t deadline_ns);

  int fd_;
  std::string buffer_;
  bool eof_ = false;
};

/// Writes `text` plus a newline with one write(2) per chunk; false if the reader is gone.
bool write_line(int fd, std::string_view text);

/// Writes all of `bytes`; false if the reader is gone.
bool write_all(int fd, std::string_view bytes);

/// The value of `key=value` among the blank-separated words of `line`, or nullopt.
std::optional<std::string> field(std::string_view line, std::string_view key);

/// field() as a whole number; `fallback` when absent or not a number.
std::int64_t number_field(std::string_view line, std::string_view key, std::int64_t fallback = -1);

}  // namespace pseud::load
