#include "engine/command_queue.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace pseud::detail {

int make_wakeup_fd() {
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "pseud: cannot create the engine's eventfd");
  return fd;
}

void signal_wakeup_fd(int fd) noexcept {
  const std::uint64_t one = 1;
  // EAGAIN means the counter is saturated, which still reads as "wake up".
  [[maybe_unused]] const auto written = ::write(fd, &one, sizeof one);
}

void clear_wakeup_fd(int fd) noexcept {
  std::uint64_t value;
  [[maybe_unused]] const auto read = ::read(fd, &value, sizeof value);
}

void close_wakeup_fd(int fd) noexcept { ::close(fd); }

}  // namespace pseud::detail
