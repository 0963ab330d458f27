#pragma once
// A loopback TCP port where every connection is refused, for as long as the
// object lives: a socket bound to it that never listens. Binding and closing
// a server instead leaves a window in which libzmq's listener (closed
// asynchronously) still accepts, or another test takes the port. Destroyed,
// it leaves a port nothing listens on, for a server to bind later.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace pseud::test {

class RefusingPort {
 public:
  RefusingPort() : RefusingPort(0) {}
  RefusingPort(RefusingPort&& other) noexcept : fd_(std::exchange(other.fd_, -1)), endpoint_(std::move(other.endpoint_)) {}

  /// `first_port` 0: any free port; else the first free one from it up.
  // CLOEXEC: a child process started meanwhile must not keep the port bound after this object is gone.
  explicit RefusingPort(int first_port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (fd_ < 0) throw std::runtime_error("RefusingPort: socket() failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool bound = false;
    for (int port = first_port; !bound && port < (first_port == 0 ? 1 : 32768); ++port) {
      address.sin_port = htons(static_cast<std::uint16_t>(port));
      bound = ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    }
    socklen_t length = sizeof address;
    if (!bound || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ::close(fd_);
      throw std::runtime_error("RefusingPort: cannot bind a loopback port");
    }
    endpoint_ = "tcp://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  }
  /// A port below the kernel's ephemeral range (32768 and up on Linux),
  /// which no other test's "tcp://127.0.0.1:*" server can be given while
  /// this one is in use: for a test that needs the port to stay free after
  /// the object is gone.
  static RefusingPort below_ephemeral_range() { return RefusingPort(20000 + ::getpid() % 10000); }

  ~RefusingPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;

  const std::string& endpoint() const noexcept { return endpoint_; }

 private:
  int fd_;
  std::string endpoint_;
};

}  // namespace pseud::test
