// pseud's client: pseud::Client peers calling "echo".

#include <atomic>
#include <barrier>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "echo_client.hpp"
#include "echo_server.hpp"
#include "observation.hpp"
#include "pseud/pseud.hpp"

namespace bench {

namespace {

pseud::PeerOptions client_options(const ClientPlan& plan) {
  pseud::PeerOptions options;
  apply_observation(options, plan.config.observation);
  if (plan.config.hwm >= 0) {
    options.configure_socket = [hwm = plan.config.hwm](zmq::socket_ref socket) { apply_hwm(socket, hwm); };
  }
  if (plan.curve) {
    options.auth = {"trusted_curve", pseud::Settings{{"server_public_key", plan.curve->server_public},
                                                     {"public_key", plan.curve->client.public_key},
                                                     {"secret_key", plan.curve->client.secret_key}}};
  }
  return options;
}

void check(const pseud::Bytes& result, const pseud::Bytes& payload) {
  if (result.data.size() != payload.data.size()) throw std::runtime_error("pseud: a reply that is not the payload");
}

// One client peer.
struct PseudPeer {
  explicit PseudPeer(const ClientPlan& plan) : client(server_name, client_options(plan)) { client.connect(plan.endpoint); }

  // The first call: waits for the connection (and the CURVE handshake).
  void first_call(const pseud::Bytes& payload) {
    check(client.call<pseud::Bytes>("echo", payload, pseud::CallOptions{.timeout = connect_timeout}), payload);
  }

  pseud::Client client;
  Recorder recorder;
  // Throughput mode, touched only by callbacks on the peer's engine thread
  // once its calls are in flight.
  Window window{};
  std::size_t completed = 0;
};

// Throughput: every reply's callback (on the peer's engine thread) issues
// the next call until the window is over, so `window` calls stay in flight.
class Pipeline {
 public:
  Pipeline(const pseud::Bytes& payload, const Window& window, std::size_t in_flight)
      : payload_(payload), window_(window), in_flight_(in_flight) {}

  void start(PseudPeer& peer) {
    peer.window = window_;
    {
      std::lock_guard lock(mutex_);
      remaining_ += in_flight_;
    }
    for (std::size_t i = 0; i < in_flight_; ++i) issue(peer);
  }

  // Waits for every chain to end; throws on a failed call or a hang.
  void wait() {
    std::unique_lock lock(mutex_);
    // Settling may shift a peer's window by up to a call timeout.
    const auto deadline = window_.measure_until + 2 * call_timeout + std::chrono::seconds(2);
    // A failure ends the wait at once: the caller stops the peers, which fails what is still in flight.
    if (!done_.wait_until(lock, deadline, [&] { return remaining_ == 0 || !failure_.empty(); })) {
      throw std::runtime_error("pseud: calls still in flight well after the window");
    }
    if (!failure_.empty()) throw std::runtime_error(failure_);
  }

 private:
  void issue(PseudPeer& peer) {
    const auto sent = Clock::now();
    peer.client.async_call<pseud::Bytes>(
        [this, &peer, sent](pseud::Result<pseud::Bytes> result) { completed(peer, sent, result); }, "echo",
        payload_);
  }

  void completed(PseudPeer& peer, Clock::time_point sent, pseud::Result<pseud::Bytes>& result) {
    const auto done = Clock::now();
    bool failed = false;
    try {
      check(result.get(), payload_);
      if (++peer.completed == in_flight_) peer.window.settle(done);
      peer.recorder.record(peer.window, sent, done);
    } catch (const std::exception& e) {
      failed = true;
      std::lock_guard lock(mutex_);
      if (failure_.empty()) failure_ = std::string("pseud: call failed: ") + e.what();
      done_.notify_all();
    }
    if (!failed && !peer.window.over(done) && !failing_.load(std::memory_order_relaxed)) {
      issue(peer);
      return;
    }
    if (failed) failing_ = true;
    std::lock_guard lock(mutex_);
    if (--remaining_ == 0) done_.notify_all();
  }

  const pseud::Bytes& payload_;
  const Window window_;
  const std::size_t in_flight_;
  std::mutex mutex_;
  std::condition_variable done_;
  std::size_t remaining_ = 0;
  std::string failure_;
  std::atomic<bool> failing_{false};
};

void run_latency(std::vector<std::unique_ptr<PseudPeer>>& peers, const pseud::Bytes& payload, const ClientPlan& plan) {
  Window window{};
  std::barrier ready(static_cast<std::ptrdiff_t>(peers.size()),
                     [&]() noexcept { window = Window::starting_now(plan.warmup, plan.duration); });
  std::mutex mutex;
  std::string failure;
  std::vector<std::thread> threads;
  for (auto& owned : peers) {
    threads.emplace_back([&, peer = owned.get()] {
      bool arrived = false;
      try {
        peer->first_call(payload);
        arrived = true;
        ready.arrive_and_wait();
        while (true) {
          const auto sent = Clock::now();
          if (window.over(sent)) break;
          check(peer->client.call<pseud::Bytes>("echo", payload), payload);
          peer->recorder.record(window, sent, Clock::now());
        }
      } catch (const std::exception& e) {
        if (!arrived) ready.arrive_and_drop();
        std::lock_guard lock(mutex);
        if (failure.empty()) failure = std::string("pseud: call failed: ") + e.what();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  if (!failure.empty()) throw std::runtime_error(failure);
}

void run_throughput(std::vector<std::unique_ptr<PseudPeer>>& peers, const pseud::Bytes& payload,
                    const ClientPlan& plan) {
  for (auto& peer : peers) peer->first_call(payload);
  Pipeline pipeline(payload, Window::starting_now(plan.warmup, plan.duration), plan.config.window);
  try {
    for (auto& peer : peers) pipeline.start(*peer);
    pipeline.wait();
  } catch (...) {
    // Stopped peers run no more callbacks: only then may the pipeline go.
    for (auto& peer : peers) peer->client.stop();
    throw;
  }
}

}  // namespace

Measurement run_pseud_client(const ClientPlan& plan) {
  const pseud::Bytes payload(make_payload(plan.config.payload));
  std::vector<std::unique_ptr<PseudPeer>> peers;
  for (std::size_t i = 0; i < plan.config.peers; ++i) peers.push_back(std::make_unique<PseudPeer>(plan));
  if (plan.config.mode == Mode::latency) {
    run_latency(peers, payload, plan);
  } else {
    run_throughput(peers, payload, plan);
  }
  std::vector<Recorder> recorders;
  for (auto& peer : peers) recorders.push_back(std::move(peer->recorder));
  return summarise(recorders, plan.duration);
}

}  // namespace bench
