// The floor's client: raw ROUTER sockets sending pseud-shaped WORK messages,
// one thread per peer.

#include <barrier>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "echo_client.hpp"
#include "echo_server.hpp"
#include "floor_wire.hpp"

namespace bench {

namespace {

// One client peer: its socket and what it needs to make and check calls.
class FloorPeer {
 public:
  FloorPeer(zmq::context_t& context, const ClientPlan& plan)
      : plan_(plan), socket_(context, zmq::socket_type::router), payload_(make_payload(plan.config.payload)) {
    // The options pseud's engine sets on a client's ROUTER.
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::router_mandatory, 1);
    socket_.set(zmq::sockopt::router_handover, 1);
    socket_.set(zmq::sockopt::maxmsgsize, std::int64_t{4} * 1024 * 1024);
    socket_.set(zmq::sockopt::probe_router, 1);
    socket_.set(zmq::sockopt::rcvtimeo, static_cast<int>(call_timeout.count()));
    socket_.set(zmq::sockopt::sndtimeo, static_cast<int>(call_timeout.count()));
    apply_hwm(socket_, plan.config.hwm);
    if (plan.curve) {
      socket_.set(zmq::sockopt::curve_serverkey, plan.curve->server_public);
      socket_.set(zmq::sockopt::curve_publickey, plan.curve->client.public_key);
      socket_.set(zmq::sockopt::curve_secretkey, plan.curve->client.secret_key);
    }
    socket_.connect(plan.endpoint);
  }

  // The first call, retried until the route exists.
  void connect() {
    const auto deadline = Clock::now() + connect_timeout;
    while (true) {
      zmq::message_t body = floor_wire::pack_work(payload_);
      const int error = floor_wire::send(socket_.handle(), server_name, id_of(0), floor_wire::work_type, body);
      if (error == 0) break;
      if (error != EHOSTUNREACH || Clock::now() >= deadline) {
        throw std::runtime_error(std::string("floor: cannot reach the server: ") + zmq_strerror(error));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    check(receive(), 0);
    next_ = 1;
  }

  void latency(const Window& window) {
    while (true) {
      const auto sent = Clock::now();
      if (window.over(sent)) return;
      const std::uint64_t seq = next_++;
      send(seq);
      check(receive(), seq);
      recorder_.record(window, sent, Clock::now());
    }
  }

  void throughput(Window window) {
    const std::size_t in_flight = plan_.config.window;
    std::size_t completed = 0;
    std::size_t capacity = 1;
    while (capacity < 2 * in_flight) capacity *= 2;
    std::vector<Clock::time_point> sent_at(capacity);
    std::vector<std::uint64_t> seq_at(capacity, ~std::uint64_t{0});
    auto issue = [&] {
      const std::uint64_t seq = next_++;
      seq_at[seq & (capacity - 1)] = seq;
      sent_at[seq & (capacity - 1)] = Clock::now();
      send(seq);
    };
    for (std::size_t i = 0; i < in_flight; ++i) issue();
    std::size_t outstanding = in_flight;
    while (outstanding > 0) {
      const std::uint64_t seq = receive();
      if (seq_at[seq & (capacity - 1)] != seq) throw std::runtime_error("floor: a reply for no call in flight");
      check(seq, seq);
      const auto done = Clock::now();
      if (++completed == in_flight) window.settle(done);
      recorder_.record(window, sent_at[seq & (capacity - 1)], done);
      if (window.over(done)) {
        --outstanding;
      } else {
        issue();
      }
    }
  }

  Recorder& recorder() noexcept { return recorder_; }

 private:
  static std::string id_of(std::uint64_t seq) {
    std::string id(16, '\0');
    std::memcpy(id.data(), &seq, sizeof seq);
    return id;
  }

  void send(std::uint64_t seq) {
    zmq::message_t body = floor_wire::pack_work(payload_);
    if (const int error = floor_wire::send(socket_.handle(), server_name, id_of(seq), floor_wire::work_type, body)) {
      throw std::runtime_error(std::string("floor: send failed: ") + zmq_strerror(error));
    }
  }

  // Receives one reply, checks its frames and body; returns its sequence number.
  std::uint64_t receive() {
    const int count = frames_.receive(socket_.handle(), 0);
    if (count == 0) throw std::runtime_error("floor: no reply within the call timeout");
    if (count != 6) throw std::runtime_error("floor: a reply that is not 6 frames");
    if (frames_.view(4).size() != 1 || frames_.view(4)[0] != floor_wire::ok_type || frames_.view(3).size() != 16) {
      throw std::runtime_error("floor: a reply that is not OK");
    }
    if (!floor_wire::unpack_ok(frames_[5], result_) || result_.size() != payload_.size()) {
      throw std::runtime_error("floor: a reply whose body is not the payload");
    }
    std::uint64_t seq = 0;
    std::memcpy(&seq, frames_.view(3).data(), sizeof seq);
    return seq;
  }

  static void check(std::uint64_t got, std::uint64_t expected) {
    if (got != expected) throw std::runtime_error("floor: a reply to another call");
  }

  const ClientPlan& plan_;
  zmq::socket_t socket_;
  std::string payload_;
  floor_wire::Frames frames_;
  std::string result_;
  std::uint64_t next_ = 0;
  Recorder recorder_;
};

}  // namespace

std::string make_payload(std::size_t size) {
  std::string payload(size, '\0');
  for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>(i * 131 + 7);
  return payload;
}

Measurement run_floor_client(zmq::context_t& context, const ClientPlan& plan) {
  const std::size_t count = plan.config.peers;
  std::vector<std::unique_ptr<FloorPeer>> peers;
  for (std::size_t i = 0; i < count; ++i) peers.push_back(std::make_unique<FloorPeer>(context, plan));
  Window window{};
  std::barrier ready(static_cast<std::ptrdiff_t>(count),
                     [&]() noexcept { window = Window::starting_now(plan.warmup, plan.duration); });
  std::mutex mutex;
  std::string failure;
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < count; ++i) {
    threads.emplace_back([&, peer = peers[i].get()] {
      bool arrived = false;
      try {
        peer->connect();
        arrived = true;
        ready.arrive_and_wait();
        if (plan.config.mode == Mode::latency) {
          peer->latency(window);
        } else {
          peer->throughput(window);
        }
      } catch (const std::exception& e) {
        if (!arrived) ready.arrive_and_drop();
        std::lock_guard lock(mutex);
        if (failure.empty()) failure = e.what();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  if (!failure.empty()) throw std::runtime_error(failure);
  std::vector<Recorder> recorders;
  for (auto& peer : peers) recorders.push_back(std::move(peer->recorder()));
  return summarise(recorders, plan.duration);
}

}  // namespace bench
