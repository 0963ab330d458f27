#include "line_io.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "clock.hpp"

namespace pseud::load {

bool LineReader::fill(std::int64_t deadline_ns) {
  while (!eof_) {
    pollfd item{fd_, POLLIN, 0};
    const int ready = ::poll(&item, 1, ms_until(deadline_ns));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    char chunk[65536];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
  return false;
}

std::optional<std::string> LineReader::line(std::int64_t deadline_ns) {
  while (true) {
    if (const auto end = buffer_.find('\n'); end != std::string::npos) {
      std::string text = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      return text;
    }
    if (!fill(deadline_ns)) return std::nullopt;
  }
}

std::optional<std::string> LineReader::bytes(std::size_t size, std::int64_t deadline_ns) {
  while (buffer_.size() < size) {
    if (!fill(deadline_ns)) return std::nullopt;
  }
  std::string out = buffer_.substr(0, size);
  buffer_.erase(0, size);
  return out;
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd item{fd, POLLOUT, 0};
      if (::poll(&item, 1, 5000) <= 0) return false;  // a reader that stopped reading for 5 s is gone
      continue;
    }
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool write_line(int fd, std::string_view text) {
  std::string line(text);
  line += '\n';
  return write_all(fd, line);
}

std::optional<std::string> field(std::string_view line, std::string_view key) {
  std::size_t at = 0;
  while (at < line.size()) {
    const std::size_t end = std::min(line.find(' ', at), line.size());
    const std::string_view word = line.substr(at, end - at);
    if (word.size() > key.size() && word.substr(0, key.size()) == key && word[key.size()] == '=') {
      return std::string(word.substr(key.size() + 1));
    }
    at = end + 1;
  }
  return std::nullopt;
}

std::int64_t number_field(std::string_view line, std::string_view key, std::int64_t fallback) {
  const auto text = field(line, key);
  if (!text) return fallback;
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  return error == std::errc() && end == text->data() + text->size() ? value : fallback;
}

}  // namespace pseud::load
