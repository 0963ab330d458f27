// The floor: what libzmq alone costs for the same service. One ROUTER named
// "server" with the socket options a pseud server sets (ROUTER_MANDATORY,
// ROUTER_HANDOVER unless authenticating, MAXMSGSIZE 4 MiB, linger 0), served
// from one thread: each 6-frame WORK is unpacked with msgpack, its one
// argument packed again as the OK body, and the reply sent with the request's
// id. Probes are counted as joined peers; HEARTBEATs are counted and ignored.
// With CURVE, a minimal ZAP handler (a REP socket in the same thread) accepts
// exactly the trusted keys.

#include <poll.h>

#include <zmq.h>

#include <array>
#include <cerrno>
#include <stdexcept>
#include <unordered_set>

#include <msgpack.hpp>

#include "clock.hpp"
#include "load_server.hpp"
#include "wire.hpp"

namespace pseud::load {

namespace {

constexpr int budget = 256;  // messages per wake-up before looking at the control descriptor

std::string_view view(zmq_msg_t& frame) {
  return {static_cast<const char*>(zmq_msg_data(&frame)), zmq_msg_size(&frame)};
}

void check(int rc, const char* what) {
  if (rc != 0) throw std::runtime_error(std::string(what) + ": " + zmq_strerror(zmq_errno()));
}

class FloorServer final : public LoadServer {
 public:
  explicit FloorServer(const ServerOptions& options) {
    for (auto& frame : frames_) zmq_msg_init(&frame);
    context_ = zmq_ctx_new();
    const bool curve = !options.server_keys.secret_key.empty();
    if (curve) {
      for (const auto& key : options.client_public) trusted_.insert(key);
      zap_ = zmq_socket(context_, ZMQ_REP);
      set_int(zap_, ZMQ_LINGER, 0);
      check(zmq_bind(zap_, "inproc://zeromq.zap.01"), "bind ZAP");
    }
    router_ = zmq_socket(context_, ZMQ_ROUTER);
    set_int(router_, ZMQ_LINGER, 0);
    set_int(router_, ZMQ_ROUTER_MANDATORY, 1);
    set_int(router_, ZMQ_ROUTER_HANDOVER, curve ? 0 : 1);
    const std::int64_t max_size = 4 * 1024 * 1024;
    check(zmq_setsockopt(router_, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size), "ZMQ_MAXMSGSIZE");
    check(zmq_setsockopt(router_, ZMQ_ROUTING_ID, server_name.data(), server_name.size()), "ZMQ_ROUTING_ID");
    // The same accept backlog as a pseud++ server (4096) unless told otherwise.
    set_int(router_, ZMQ_BACKLOG, options.backlog > 0 ? static_cast<int>(options.backlog) : 4096);
    if (curve) {
      set_int(router_, ZMQ_CURVE_SERVER, 1);
      check(zmq_setsockopt(router_, ZMQ_CURVE_SECRETKEY, options.server_keys.secret_key.data(), 32), "secret key");
      check(zmq_setsockopt(router_, ZMQ_ZAP_DOMAIN, "floor", 5), "ZMQ_ZAP_DOMAIN");
    }
    check(zmq_bind(router_, "tcp://127.0.0.1:*"), "bind");
    char endpoint[256];
    std::size_t size = sizeof endpoint;
    check(zmq_getsockopt(router_, ZMQ_LAST_ENDPOINT, endpoint, &size), "ZMQ_LAST_ENDPOINT");
    endpoint_ = endpoint;
  }

  ~FloorServer() override {
    stop();
    for (auto& frame : frames_) zmq_msg_close(&frame);
    zmq_ctx_term(context_);
  }

  const std::string& endpoint() const override { return endpoint_; }

  void serve_until_readable(int fd) override {
    while (!serve(-1, fd)) {
    }
  }

  bool wait_peers(std::uint64_t peers, std::int64_t limit_ms) override {
    const auto until = now_ns() + ms_to_ns(limit_ms);
    while (stats_.joined < peers && now_ns() < until) serve(ms_until(until), -1);
    return stats_.joined == peers;
  }

  ServerStats stats() override { return stats_; }

  void stop() override {
    if (router_) zmq_close(router_);
    if (zap_) zmq_close(zap_);
    router_ = zap_ = nullptr;
  }

 private:
  void set_int(void* socket, int option, int value) {
    check(zmq_setsockopt(socket, option, &value, sizeof value), "zmq_setsockopt");
  }

  // One poll and what it found; true when `fd` is readable.
  bool serve(int timeout_ms, int fd) {
    zmq_pollitem_t items[3] = {{router_, 0, ZMQ_POLLIN, 0}, {nullptr, fd, ZMQ_POLLIN, 0}, {zap_, 0, ZMQ_POLLIN, 0}};
    const int count = zap_ ? 3 : 2;
    if (fd < 0) items[1].events = 0;
    if (zmq_poll(items, count, timeout_ms) < 0) return false;
    if (items[0].revents & ZMQ_POLLIN) {
      for (int i = 0; i < budget && receive(); ++i) {
      }
    }
    if (count == 3 && (items[2].revents & ZMQ_POLLIN)) {
      for (int i = 0; i < budget && answer_zap(); ++i) {
      }
    }
    return fd >= 0 && (items[1].revents & ZMQ_POLLIN);
  }

  bool receive() {
    if (zmq_msg_recv(&frames_[0], router_, ZMQ_DONTWAIT) < 0) return false;
    std::size_t count = 1;
    zmq_msg_t* last = &frames_[0];
    while (zmq_msg_more(last)) {
      zmq_msg_t* next = count < frames_.size() ? &frames_[count] : &frames_.back();
      if (zmq_msg_recv(next, router_, 0) < 0) break;
      ++count;
      last = next;
    }
    if (count == 2) {
      ++stats_.joined;
      return true;
    }
    if (count != 6 || view(frames_[2]) != version || zmq_msg_size(&frames_[4]) != 1) {
      ++stats_.malformed;
      return true;
    }
    const char type = view(frames_[4])[0];
    if (type == type_heartbeat) {
      ++stats_.heartbeats;
      return true;
    }
    if (type != type_work) {
      ++stats_.malformed;
      return true;
    }
    reply();
    return true;
  }

  void reply() {
    const std::string_view body = view(frames_[5]);
    msgpack::sbuffer out;
    try {
      const msgpack::object_handle handle = msgpack::unpack(body.data(), body.size());
      const msgpack::object& work = handle.get();
      if (work.type != msgpack::type::ARRAY || work.via.array.size != 3 ||
          work.via.array.ptr[1].type != msgpack::type::ARRAY || work.via.array.ptr[1].via.array.size != 1) {
        throw std::runtime_error("not echo(x)");
      }
      msgpack::pack(out, work.via.array.ptr[1].via.array.ptr[0]);
    } catch (const std::exception&) {
      ++stats_.malformed;
      return;
    }
    const std::string_view rid = view(frames_[0]);
    const std::string_view id = view(frames_[3]);
    if (zmq_send(router_, rid.data(), rid.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
      ++stats_.dropped;
      return;
    }
    zmq_send(router_, "", 0, ZMQ_SNDMORE);
    zmq_send(router_, version.data(), version.size(), ZMQ_SNDMORE);
    zmq_send(router_, id.data(), id.size(), ZMQ_SNDMORE);
    zmq_send(router_, &type_ok, 1, ZMQ_SNDMORE);
    zmq_send(router_, out.data(), out.size(), 0);
    ++stats_.handled;
  }

  // ZAP 1.0: [version, request id, domain, address, identity, mechanism, key] ->
  // [version, request id, status, text, user id, metadata].
  bool answer_zap() {
    std::array<std::string, 8> request;
    std::size_t count = 0;
    int more = 1;
    while (more) {
      zmq_msg_t frame;
      zmq_msg_init(&frame);
      if (zmq_msg_recv(&frame, zap_, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&frame);
        if (count == 0) return false;
        break;
      }
      if (count < request.size()) request[count] = std::string(view(frame));
      ++count;
      more = zmq_msg_more(&frame);
      zmq_msg_close(&frame);
    }
    const bool ok = count == 7 && request[5] == "CURVE" && trusted_.count(request[6]) > 0;
    const std::string parts[6] = {"1.0", request[1], ok ? "200" : "400", ok ? "OK" : "untrusted key", ok ? "peer" : "", ""};
    for (int i = 0; i < 6; ++i) zmq_send(zap_, parts[i].data(), parts[i].size(), i < 5 ? ZMQ_SNDMORE : 0);
    return true;
  }

  void* context_ = nullptr;
  void* router_ = nullptr;
  void* zap_ = nullptr;
  std::string endpoint_;
  std::unordered_set<std::string> trusted_;
  std::array<zmq_msg_t, 7> frames_;
  ServerStats stats_;
};

}  // namespace

std::unique_ptr<LoadServer> make_floor_server(const ServerOptions& options) {
  return std::make_unique<FloorServer>(options);
}

}  // namespace pseud::load
