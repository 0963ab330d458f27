#pragma once
// A loopback HTTP server for tests that need a misbehaving peer: it reads
// one request per connection and answers what the test's function returns
// for the request's path (raw bytes: status line, headers and body), or
// holds the connection open without answering. Every wait is bounded.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace pseud::test {

class FakeHttpServer {
 public:
  struct Reply {
    std::string bytes;  // written as is, then the connection is closed
    bool hold = false;  // answer nothing, keep the connection until the server stops
  };
  using Responder = std::function<Reply(const std::string& path, const std::string& body)>;

  explicit FakeHttpServer(Responder responder) : responder_(std::move(responder)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listener_, 64) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ::close(listener_);
      throw std::runtime_error(std::string("cannot listen on loopback: ") + std::strerror(errno));
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeHttpServer() {
    stop_ = true;
    thread_.join();
    for (const int fd : held_) ::close(fd);
    ::close(listener_);
  }
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  int port() const noexcept { return port_; }
  std::string address() const { return "etcd://127.0.0.1:" + std::to_string(port_); }

  /// Requests seen so far for `path`.
  int requests(const std::string& path) {
    std::lock_guard lock(mutex_);
    int count = 0;
    for (const auto& p : paths_) count += p == path ? 1 : 0;
    return count;
  }

  /// An HTTP/1.1 answer with `body` and the status line `status`.
  static std::string answer(const std::string& body, const std::string& status = "200 OK") {
    return "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  }
  /// The head of a chunked answer whose chunks follow (a stream).
  static std::string stream_head() {
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  }
  static std::string chunk(const std::string& data) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return size + data + "\r\n";
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd item{listener_, POLLIN, 0};
      if (::poll(&item, 1, 20) != 1) continue;
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      handle(fd);
    }
  }

  void handle(int fd) {
    std::string request;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    std::size_t header_end = std::string::npos;
    std::size_t content_length = 0;
    while (std::chrono::steady_clock::now() < until && request.size() < 1 << 20) {
      if (header_end != std::string::npos && request.size() >= header_end + 4 + content_length) break;
      pollfd item{fd, POLLIN, 0};
      if (::poll(&item, 1, 50) != 1) continue;
      char chunk[4096];
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      request.append(chunk, static_cast<std::size_t>(n));
      if (header_end == std::string::npos && (header_end = request.find("\r\n\r\n")) != std::string::npos) {
        const auto at = request.find("Content-Length: ");
        if (at != std::string::npos && at < header_end) content_length = std::stoul(request.substr(at + 16));
      }
    }
    const auto space = request.find(' ');
    const std::string path = space == std::string::npos ? "" : request.substr(space + 1, request.find(' ', space + 1) - space - 1);
    const std::string body = header_end == std::string::npos ? "" : request.substr(header_end + 4);
    {
      std::lock_guard lock(mutex_);
      paths_.push_back(path);
    }
    const Reply reply = responder_(path, body);
    std::size_t done = 0;
    while (done < reply.bytes.size() && !stop_) {
      pollfd item{fd, POLLOUT, 0};
      if (::poll(&item, 1, 50) != 1) continue;
      const ssize_t n = ::send(fd, reply.bytes.data() + done, reply.bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    if (reply.hold && held_.size() < 64) {
      held_.push_back(fd);
    } else {
      ::close(fd);
    }
  }

  Responder responder_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> paths_;
  std::vector<int> held_;  // only the server thread touches it until it is joined
};

}  // namespace pseud::test
