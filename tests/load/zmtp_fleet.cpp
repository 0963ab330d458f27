// Simulated clients over raw TCP, speaking ZMTP 3.1 (NULL mechanism) to the
// server directly: on the wire exactly what a libzmq ROUTER client socket with
// PROBE_ROUTER sends (greeting; READY with Socket-Type ROUTER and its
// Identity; the probe, one empty frame; then the pseud frames), for a few
// microseconds of client CPU per call instead of libzmq's tens (its I/O
// thread, mailboxes and wake-ups per socket). Plain connections only; CURVE
// clients use zmq_fleet.cpp.
//
// Each client: a non-blocking socket in one epoll set (level triggered). It
// sends its greeting once connected, its READY once the server's greeting has
// arrived, and its probe and first WORK once the server's READY has arrived.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>

#include "sim_core.hpp"
#include "wire.hpp"
#include "zmtp.hpp"

namespace pseud::load {

namespace {

constexpr std::uint32_t watch_tag = UINT32_MAX;
constexpr std::uint64_t max_frame = 4 * 1024 * 1024;

sockaddr_in parse_endpoint(const std::string& endpoint) {
  // tcp://127.0.0.1:PORT
  const auto colon = endpoint.rfind(':');
  const std::string prefix = "tcp://";
  if (endpoint.rfind(prefix, 0) != 0 || colon == std::string::npos || colon < prefix.size()) {
    throw std::invalid_argument("not a tcp://HOST:PORT endpoint: " + endpoint);
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(std::stoi(endpoint.substr(colon + 1))));
  const std::string host = endpoint.substr(prefix.size(), colon - prefix.size());
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) throw std::invalid_argument("bad host: " + host);
  return address;
}

class ZmtpFleet final : public SimCore {
 public:
  explicit ZmtpFleet(const FleetOptions& options)
      : SimCore(options), address_(parse_endpoint(options.endpoint)), conns_(options.count) {
    if (!options.server_public_key.empty()) throw std::invalid_argument("the raw ZMTP clients speak NULL only, not CURVE");
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) throw std::runtime_error("epoll_create1: " + std::string(std::strerror(errno)));
  }

  ~ZmtpFleet() override {
    for (auto& conn : conns_) {
      if (conn.fd >= 0) ::close(conn.fd);
    }
    ::close(epoll_);
  }

 private:
  enum class State { connecting, greeting, ready, open, closed };
  struct Conn {
    int fd = -1;
    State state = State::connecting;
    bool want_write = false;
    std::string in;   // bytes received and not yet parsed
    std::string out;  // bytes the socket would not take yet
  };

  void open(std::uint32_t index) override {
    Conn& conn = conns_[index];
    conn.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (conn.fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    const int one = 1;
    ::setsockopt(conn.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // as libzmq does
    if (::connect(conn.fd, reinterpret_cast<const sockaddr*>(&address_), sizeof address_) != 0 && errno != EINPROGRESS) {
      return broken(index, std::string("connect: ") + std::strerror(errno));
    }
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT;
    event.data.u32 = index;
    conn.want_write = true;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, conn.fd, &event) != 0) {
      throw std::runtime_error("epoll_ctl: " + std::string(std::strerror(errno)));
    }
  }

  bool transmit(std::uint32_t index, char type, std::string_view id, std::string_view body) override {
    Conn& conn = conns_[index];
    if (conn.state != State::open) return false;
    std::string& out = scratch_;
    out.clear();
    zmtp::append_frame(out, "", true);
    zmtp::append_frame(out, version, true);
    zmtp::append_frame(out, id, true);
    zmtp::append_frame(out, std::string_view(&type, 1), true);
    zmtp::append_frame(out, body, false);
    return write(index, out);
  }

  bool pump(int timeout_ms) override {
    std::array<epoll_event, 256> events;
    const int ready = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), timeout_ms);
    bool watched = false;
    for (int i = 0; i < ready; ++i) {
      const auto index = events[i].data.u32;
      if (index == watch_tag) {
        watched = true;
        continue;
      }
      if (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) writable(index);
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) readable(index);
    }
    return watched;
  }

  void watch(int fd, bool add) override {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u32 = watch_tag;
    ::epoll_ctl(epoll_, add ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &event);
  }

  std::string stalled() const override {
    std::size_t counts[5] = {};
    std::size_t unacked = 0;  // stalled connections whose sent bytes the server's kernel never acknowledged
    for (const auto& conn : conns_) {
      ++counts[static_cast<int>(conn.state)];
      if (conn.fd < 0 || conn.state == State::open) continue;
      tcp_info info{};
      socklen_t size = sizeof info;
      if (::getsockopt(conn.fd, IPPROTO_TCP, TCP_INFO, &info, &size) == 0 && info.tcpi_unacked > 0) ++unacked;
    }
    return "(connections: " + std::to_string(counts[0]) + " connecting, " + std::to_string(counts[1]) +
           " awaiting the greeting, " + std::to_string(counts[2]) + " awaiting READY, " + std::to_string(counts[3]) +
           " open, " + std::to_string(counts[4]) + " closed; " + std::to_string(unacked) +
           " not open with their bytes unacknowledged by the server's kernel)";
  }

  // Writes `bytes` (after anything still queued); false when the connection is broken.
  bool write(std::uint32_t index, std::string_view bytes) {
    Conn& conn = conns_[index];
    if (conn.fd < 0) return false;
    if (conn.out.empty()) {
      const ssize_t n = ::send(conn.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        broken(index, std::string("send: ") + std::strerror(errno));
        return false;
      }
      bytes.remove_prefix(n > 0 ? static_cast<std::size_t>(n) : 0);
      if (bytes.empty()) return true;
    }
    conn.out += bytes;
    set_write_interest(index, true);
    return true;
  }

  void set_write_interest(std::uint32_t index, bool on) {
    Conn& conn = conns_[index];
    if (conn.want_write == on || conn.fd < 0) return;
    conn.want_write = on;
    epoll_event event{};
    event.events = on ? EPOLLIN | EPOLLOUT : EPOLLIN;
    event.data.u32 = index;
    ::epoll_ctl(epoll_, EPOLL_CTL_MOD, conn.fd, &event);
  }

  void writable(std::uint32_t index) {
    Conn& conn = conns_[index];
    if (conn.fd < 0) return;
    if (conn.state == State::connecting) {
      int error = 0;
      socklen_t size = sizeof error;
      ::getsockopt(conn.fd, SOL_SOCKET, SO_ERROR, &error, &size);
      if (error != 0) return broken(index, std::string("connect: ") + std::strerror(error));
      conn.state = State::greeting;
      set_write_interest(index, false);
      write(index, zmtp::greeting());
      return;
    }
    while (!conn.out.empty()) {
      const ssize_t n = ::send(conn.fd, conn.out.data(), conn.out.size(), MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      if (n < 0) return broken(index, std::string("send: ") + std::strerror(errno));
      conn.out.erase(0, static_cast<std::size_t>(n));
    }
    set_write_interest(index, false);
  }

  void readable(std::uint32_t index) {
    Conn& conn = conns_[index];
    if (conn.fd < 0 || conn.state == State::connecting) return;
    char buffer[16384];
    const ssize_t n = ::recv(conn.fd, buffer, sizeof buffer, 0);
    if (n == 0) return broken(index, "the server closed the connection");
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      return broken(index, std::string("recv: ") + std::strerror(errno));
    }
    std::string_view data(buffer, static_cast<std::size_t>(n));
    if (!conn.in.empty()) {
      conn.in.append(data);
      data = conn.in;
    }
    const std::size_t used = parse(index, data);
    if (conns_[index].fd < 0) return;  // broken while parsing
    if (conn.in.empty()) {
      conn.in.assign(data.substr(used));
    } else {
      conn.in.erase(0, used);
    }
  }

  // Consumes what it can of `data`; returns how many bytes it used.
  std::size_t parse(std::uint32_t index, std::string_view data) {
    Conn& conn = conns_[index];
    std::size_t used = 0;
    if (conn.state == State::greeting) {
      if (data.size() < zmtp::greeting_size) return 0;
      if (!zmtp::valid_greeting(data.substr(0, zmtp::greeting_size))) {
        broken(index, "the server's greeting is not ZMTP 3 with NULL");
        return 0;
      }
      used = zmtp::greeting_size;
      conn.state = State::ready;
      const std::string name = "sim" + std::to_string(global(index));
      write(index, zmtp::ready("ROUTER", name));
    }
    while (conn.fd >= 0) {
      // One whole message: its frames up to the one without MORE.
      std::array<std::string_view, 6> frames;
      std::size_t count = 0;
      std::size_t at = used;
      bool complete = false;
      bool command = false;
      while (auto next = zmtp::next_frame(data.substr(at), max_frame)) {
        if (next->second == 0) {
          broken(index, "a frame over 4 MiB");
          return used;
        }
        if (count < frames.size()) frames[count] = next->first.body;
        ++count;
        at += next->second;
        command = next->first.command();
        if (command || !next->first.more()) {
          complete = true;
          break;
        }
      }
      if (!complete) return used;
      used = at;
      if (command) {
        handle_command(index, frames[0]);
      } else if (conn.state != State::open) {
        broken(index, "a message before the server's READY");
      } else {
        on_message(index, std::span<const std::string_view>(frames.data(), std::min(count, frames.size())));
      }
    }
    return used;
  }

  void handle_command(std::uint32_t index, std::string_view body) {
    Conn& conn = conns_[index];
    const auto name_size = body.empty() ? 0u : static_cast<std::uint8_t>(body[0]);
    const std::string_view name = body.substr(body.empty() ? 0 : 1, name_size);
    if (name == "READY" && conn.state == State::ready) {
      if (zmtp::ready_property(body, "Socket-Type") != std::string_view("ROUTER") ||
          zmtp::ready_property(body, "Identity") != server_name) {
        return broken(index, "the server's READY is not from a ROUTER named 'server'");
      }
      conn.state = State::open;
      std::string probe;
      zmtp::append_frame(probe, "", false);  // PROBE_ROUTER: one empty message
      if (write(index, probe)) first_call(index);
      return;
    }
    broken(index, "unexpected ZMTP command '" + std::string(name) + "'");
  }

  void broken(std::uint32_t index, const std::string& why) {
    Conn& conn = conns_[index];
    if (conn.fd >= 0) {
      ::epoll_ctl(epoll_, EPOLL_CTL_DEL, conn.fd, nullptr);
      ::close(conn.fd);
    }
    conn.fd = -1;
    conn.state = State::closed;
    lost(index, why);
  }

  sockaddr_in address_;
  int epoll_ = -1;
  std::vector<Conn> conns_;
  std::string scratch_;
};

}  // namespace

std::unique_ptr<Fleet> make_zmtp_fleet(const FleetOptions& options) { return std::make_unique<ZmtpFleet>(options); }

}  // namespace pseud::load
