// Simulated clients over libzmq: one ROUTER socket per client, all in one
// thread, set up as a pseud::Client sets up its socket (src/engine/engine.cpp):
// ROUTER_MANDATORY, PROBE_ROUTER, linger 0, its own routing id, connecting to
// the server's endpoint and addressing it by its name "server"; with CURVE the
// client's key pair and the server's public key. A pseud client learns that
// its route exists from the socket monitor and retries parked calls; here
// ZMQ_CONNECT_ROUTING_ID names the pipe "server" at connect time, so the
// first WORK waits in libzmq's queue and leaves as soon as the handshake is
// done. The bytes on the wire are the same.
//
// Readiness: each socket's ZMQ_FD in one epoll set, level triggered (the
// descriptor stays readable while libzmq has unprocessed commands). A woken
// socket is drained until EAGAIN, which also processes its commands and
// re-arms its pipes. A send may process the command that announced input
// without the descriptor showing it, so every socket sent on is drained again
// before the next wait.

#include <sys/epoll.h>
#include <unistd.h>

#include <zmq.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>

#include "sim_core.hpp"
#include "wire.hpp"

namespace pseud::load {

namespace {

constexpr std::uint32_t watch_tag = UINT32_MAX;

std::string_view view(zmq_msg_t& frame) {
  return {static_cast<const char*>(zmq_msg_data(&frame)), zmq_msg_size(&frame)};
}

class ZmqFleet final : public SimCore {
 public:
  explicit ZmqFleet(const FleetOptions& options) : SimCore(options), sockets_(options.count, nullptr), touched_(options.count, 0) {
    for (auto& frame : frames_) zmq_msg_init(&frame);
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) throw std::runtime_error("epoll_create1: " + std::string(std::strerror(errno)));
    context_ = zmq_ctx_new();
    zmq_ctx_set(context_, ZMQ_MAX_SOCKETS, static_cast<int>(options.count + 64));
  }

  ~ZmqFleet() override {
    for (void* socket : sockets_) {
      if (socket) zmq_close(socket);
    }
    for (auto& frame : frames_) zmq_msg_close(&frame);
    zmq_ctx_term(context_);
    ::close(epoll_);
  }

 private:
  void set(void* socket, int option, const void* value, std::size_t size) {
    if (zmq_setsockopt(socket, option, value, size) != 0) {
      throw std::runtime_error("zmq_setsockopt(" + std::to_string(option) + "): " + zmq_strerror(zmq_errno()));
    }
  }
  void set_int(void* socket, int option, int value) { set(socket, option, &value, sizeof value); }

  void open(std::uint32_t index) override {
    void* socket = zmq_socket(context_, ZMQ_ROUTER);
    if (!socket) throw std::runtime_error("zmq_socket: " + std::string(zmq_strerror(zmq_errno())));
    sockets_[index] = socket;
    set_int(socket, ZMQ_LINGER, 0);
    set_int(socket, ZMQ_ROUTER_MANDATORY, 1);
    set_int(socket, ZMQ_PROBE_ROUTER, 1);
    const std::string name = "sim" + std::to_string(global(index));
    set(socket, ZMQ_ROUTING_ID, name.data(), name.size());
    set(socket, ZMQ_CONNECT_ROUTING_ID, server_name.data(), server_name.size());
    if (!options_.server_public_key.empty()) {
      const KeyPair& keys = options_.keys.at(index);
      set(socket, ZMQ_CURVE_SERVERKEY, options_.server_public_key.data(), 32);
      set(socket, ZMQ_CURVE_PUBLICKEY, keys.public_key.data(), 32);
      set(socket, ZMQ_CURVE_SECRETKEY, keys.secret_key.data(), 32);
    }
    if (zmq_connect(socket, options_.endpoint.c_str()) != 0) {
      throw std::runtime_error("zmq_connect(" + options_.endpoint + "): " + zmq_strerror(zmq_errno()));
    }
    int fd = -1;
    std::size_t size = sizeof fd;
    if (zmq_getsockopt(socket, ZMQ_FD, &fd, &size) != 0) throw std::runtime_error("ZMQ_FD");
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u32 = index;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0) {
      throw std::runtime_error("epoll_ctl: " + std::string(std::strerror(errno)));
    }
    first_call(index);  // queued until the connection is up; transmit() marks the socket for a drain
  }

  bool transmit(std::uint32_t index, char type, std::string_view id, std::string_view body) override {
    void* socket = sockets_[index];
    if (zmq_send(socket, server_name.data(), server_name.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) return false;
    zmq_send(socket, "", 0, ZMQ_SNDMORE);
    zmq_send(socket, version.data(), version.size(), ZMQ_SNDMORE);
    zmq_send(socket, id.data(), id.size(), ZMQ_SNDMORE);
    zmq_send(socket, &type, 1, ZMQ_SNDMORE);
    zmq_send(socket, body.data(), body.size(), 0);
    if (!touched_[index]) {
      touched_[index] = 1;
      touched_list_.push_back(index);
    }
    return true;
  }

  bool pump(int timeout_ms) override {
    // Sockets sent on since the last pass: drain them first (see above), and do not sleep if there were any.
    while (!touched_list_.empty()) {
      std::vector<std::uint32_t> batch;
      batch.swap(touched_list_);
      for (const auto index : batch) {
        touched_[index] = 0;
        drain(index);
      }
      timeout_ms = 0;
    }
    std::array<epoll_event, 256> events;
    const int ready = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), timeout_ms);
    bool watched = false;
    for (int i = 0; i < ready; ++i) {
      if (events[i].data.u32 == watch_tag) {
        watched = true;
      } else {
        drain(events[i].data.u32);
      }
    }
    return watched;
  }

  void watch(int fd, bool add) override {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u32 = watch_tag;
    ::epoll_ctl(epoll_, add ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &event);
  }

  void drain(std::uint32_t index) {
    void* socket = sockets_[index];
    while (true) {
      if (zmq_msg_recv(&frames_[0], socket, ZMQ_DONTWAIT) < 0) return;  // EAGAIN: drained, commands processed
      std::size_t count = 1;
      zmq_msg_t* last = &frames_[0];
      while (zmq_msg_more(last)) {
        zmq_msg_t* next = count < frames_.size() ? &frames_[count] : &frames_.back();
        if (zmq_msg_recv(next, socket, 0) < 0) break;
        ++count;
        last = next;
      }
      if (view(frames_[0]) != server_name) {
        fail(index, "a message from '" + std::string(view(frames_[0])) + "', not from the server");
        continue;
      }
      std::array<std::string_view, 6> views;
      const std::size_t wire_frames = std::min(count - 1, views.size());
      for (std::size_t f = 0; f < wire_frames; ++f) views[f] = view(frames_[f + 1]);
      on_message(index, std::span<const std::string_view>(views.data(), wire_frames));
    }
  }

  void* context_ = nullptr;
  int epoll_ = -1;
  std::vector<void*> sockets_;
  std::vector<char> touched_;
  std::vector<std::uint32_t> touched_list_;
  std::array<zmq_msg_t, 8> frames_;  // seven plus one scratch frame for surplus ones
};

}  // namespace

std::unique_ptr<Fleet> make_zmq_fleet(const FleetOptions& options) { return std::make_unique<ZmqFleet>(options); }

}  // namespace pseud::load
