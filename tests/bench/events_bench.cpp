// pseud-events-bench: events per second over loopback TCP, from an EventHub
// to one subscriber (broadcast, then a group of one, which acknowledges each
// event), beside the floor: a raw libzmq PUB/SUB pair with CURVE (as the
// events socket has) carrying messages of the same size, measured in the
// same run.
//
//   pseud-events-bench [--events N] [--body BYTES] [--reps R] [--require EVENTS_PER_S]
//
// Prints one JSON line per path and repetition and a summary line; with
// --require, exits 1 when the median of a pseud++ path is below it.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "pseud/pseud.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Settings {
  long events = 50000;
  std::size_t body = 100;
  int reps = 3;
  double require = 0;
};

Settings parse(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--events") settings.events = std::atol(value);
    else if (flag == "--body") settings.body = static_cast<std::size_t>(std::atol(value));
    else if (flag == "--reps") settings.reps = std::atoi(value);
    else if (flag == "--require") settings.require = std::atof(value);
    else {
      std::fprintf(stderr, "usage: pseud-events-bench [--events N] [--body BYTES] [--reps R] [--require EVENTS_PER_S]\n");
      std::exit(3);
    }
  }
  return settings;
}

// Counts arrivals; wakes the waiter at the last one.
class Arrivals {
 public:
  void add() {
    if (count_.fetch_add(1) + 1 == expected_) {
      const std::lock_guard lock(mutex_);
      done_at_ = Clock::now();
      done_.notify_all();
    }
  }
  void expect(long count) {
    count_ = 0;
    expected_ = count;
  }
  // When the last arrived, or nullopt after `limit`.
  std::optional<Clock::time_point> wait(std::chrono::seconds limit) {
    std::unique_lock lock(mutex_);
    if (!done_.wait_for(lock, limit, [&] { return count_.load() >= expected_; })) return std::nullopt;
    return done_at_;
  }
  long count() const { return count_.load(); }

 private:
  std::atomic<long> count_{0};
  long expected_ = 0;
  std::mutex mutex_;
  std::condition_variable done_;
  Clock::time_point done_at_{};
};

double rate(long events, Clock::time_point start, Clock::time_point end) {
  return static_cast<double>(events) / std::chrono::duration<double>(end - start).count();
}

// The floor: PUB bound, SUB connected, CURVE on, nothing dropped (no HWM), the same bytes per message.
double floor_rate(const Settings& settings, std::size_t message_bytes) {
  zmq::context_t context;
  zmq::socket_t pub(context, zmq::socket_type::pub), sub(context, zmq::socket_type::sub);
  pub.set(zmq::sockopt::sndhwm, 0);
  sub.set(zmq::sockopt::rcvhwm, 0);
  // CURVE, as the events socket always is.
  char server_public[41], server_secret[41], client_public[41], client_secret[41];
  zmq_curve_keypair(server_public, server_secret);
  zmq_curve_keypair(client_public, client_secret);
  pub.set(zmq::sockopt::curve_server, 1);
  pub.set(zmq::sockopt::curve_secretkey, std::string(server_secret));
  sub.set(zmq::sockopt::curve_serverkey, std::string(server_public));
  sub.set(zmq::sockopt::curve_publickey, std::string(client_public));
  sub.set(zmq::sockopt::curve_secretkey, std::string(client_secret));
  pub.bind("tcp://127.0.0.1:*");
  sub.set(zmq::sockopt::subscribe, "");
  sub.connect(pub.get(zmq::sockopt::last_endpoint));
  // A subscription takes a moment to reach the publisher: send until one arrives.
  const std::string payload(message_bytes, 'x');
  zmq::message_t probe;
  while (true) {
    pub.send(zmq::buffer(std::string_view("probe")), zmq::send_flags::none);
    zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(10)) > 0) break;
  }
  while (sub.recv(probe, zmq::recv_flags::dontwait)) {
  }
  const auto start = Clock::now();
  std::thread receiver([&] {
    zmq::message_t message;
    for (long i = 0; i < settings.events; ++i) (void)sub.recv(message);
  });
  for (long i = 0; i < settings.events; ++i) pub.send(zmq::buffer(payload), zmq::send_flags::none);
  receiver.join();
  return rate(settings.events, start, Clock::now());
}

// pseud++: the hub emits `events`; one subscriber counts them.
double pseud_rate(const Settings& settings, bool as_group, pseud::EventHubStats& stats_out) {
  pseud::Server server("bench");
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");
  pseud::EventHubOptions options;
  options.send_queue_limit = 0;  // the floor drops nothing either: measure the rate, not the HWM
  pseud::EventHub hub(server, options);
  pseud::Client client("bench");
  client.connect(endpoint);
  pseud::EventSubscriber subscriber(client);
  Arrivals arrivals;
  arrivals.expect(settings.events);
  subscriber.subscribe("bench.*", [&](const pseud::Event&) { arrivals.add(); },
                       as_group ? pseud::group("g") : pseud::broadcast());
  const std::string body(settings.body, 'x');
  const auto start = Clock::now();
  for (long i = 0; i < settings.events; ++i) hub.emit("bench.tick", body);
  const auto done = arrivals.wait(std::chrono::seconds(120));
  stats_out = hub.stats();
  if (!done) return 0;
  return rate(settings.events, start, *done);
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const Settings settings = parse(argc, argv);
  // What a packed event of this body weighs on the wire (id, type, source, headers, body).
  const std::size_t message_bytes = settings.body + 80;
  std::vector<double> floor, broadcast, group;
  for (int rep = 0; rep < settings.reps; ++rep) {
    floor.push_back(floor_rate(settings, message_bytes));
    pseud::EventHubStats stats;
    broadcast.push_back(pseud_rate(settings, false, stats));
    std::printf("{\"path\": \"broadcast\", \"rep\": %d, \"events_per_s\": %.0f, \"floor_per_s\": %.0f, \"dropped\": %llu}\n",
                rep, broadcast.back(), floor.back(), static_cast<unsigned long long>(stats.broadcast_dropped));
    group.push_back(pseud_rate(settings, true, stats));
    std::printf("{\"path\": \"group\", \"rep\": %d, \"events_per_s\": %.0f, \"acked\": %llu, \"retried\": %llu}\n", rep,
                group.back(), static_cast<unsigned long long>(stats.group_acked),
                static_cast<unsigned long long>(stats.group_retried));
    std::fflush(stdout);
  }
  const double f = median(floor), b = median(broadcast), g = median(group);
  std::printf("[figure] events over loopback, %ld of %zu B, median of %d: floor (PUB/SUB, CURVE) %.0f/s, broadcast %.0f/s "
              "(%.2fx the floor's time), group of one with ACKs %.0f/s (%.2fx)\n",
              settings.events, settings.body, settings.reps, f, b, f / b, g, f / g);
  if (settings.require > 0 && (b < settings.require || g < settings.require)) {
    std::printf("below the required %.0f events/s\n", settings.require);
    return 1;
  }
  return 0;
}
