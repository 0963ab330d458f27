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

#include <stdexcept>
#include <string>

namespace pseud::test {

class RefusingPort {
 public:
  RefusingPort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (fd_ < 0) throw std::runtime_error("RefusingPort: socket() failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ::close(fd_);
      throw std::runtime_error("RefusingPort: cannot bind a loopback port");
    }
    endpoint_ = "tcp://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  }
  ~RefusingPort() { ::close(fd_); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;

  const std::string& endpoint() const noexcept { return endpoint_; }

 private:
  int fd_;
  std::string endpoint_;
};

}  // namespace pseud::test
