// pseud-observe-bench: what watching calls costs, per call. Three pairs of
// pseud::Server and pseud::Client in this process over tcp loopback: "bare"
// (metrics off), "standard" (metrics on, the default) and "intercepted"
// (metrics on and one interceptor that does nothing, on both peers). The
// calls alternate between the pairs one by one, so that whatever else the
// machine does falls on the three alike; each call's round trip is timed.
// It also times, alone in a loop, what the engine adds per call for the
// observer (a call begun, asked, ended, both ways: the work of one incoming
// and one outgoing call) with metrics and one interceptor, in nanoseconds,
// and gives it as a share of the standard pair's p50: a figure the noise of
// a shared machine does not move. Prints one JSON line per pair and one per
// comparison:
//   {"observe": "intercepted", "over": "standard", "p50_ratio": .., "p90_ratio": .., "met": .., "target": ..}
// With --require R, exits 1 unless intercepted's p50 is at most R times standard's.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "observation.hpp"
#include "observe/call_observer.hpp"
#include "pseud/pseud.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Pair {
  Pair(const char* label, bench::Observation observation) : name(label) {
    pseud::PeerOptions server_options;
    pseud::PeerOptions client_options;
    bench::apply_observation(server_options, observation);
    bench::apply_observation(client_options, observation);
    server.emplace("server", server_options);
    server->register_rpc("echo", [](pseud::Bytes bytes) { return bytes; });
    client.emplace("server", client_options);
    client->connect(server->bind("tcp://127.0.0.1:*"));
  }
  std::string name;
  std::optional<pseud::Server> server;
  std::optional<pseud::Client> client;
  std::vector<double> micros;
};

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(q * static_cast<double>(values.size() - 1))];
}

void compare(const Pair& mine, const Pair& base, std::optional<double> target) {
  const double p50 = quantile(mine.micros, 0.5) / quantile(base.micros, 0.5);
  const double p90 = quantile(mine.micros, 0.9) / quantile(base.micros, 0.9);
  std::printf("{\"observe\": \"%s\", \"over\": \"%s\", \"p50_ratio\": %.4f, \"p90_ratio\": %.4f, \"met\": %s, "
              "\"target\": \"%s\"}\n",
              mine.name.c_str(), base.name.c_str(), p50, p90,
              target ? (p50 <= *target ? "true" : "false") : "null",
              target ? ("p50_ratio <= " + std::to_string(*target).substr(0, 4)).c_str() : "none (reported)");
}

// Nanoseconds per call of the observer's work for one incoming and one outgoing call.
double observer_nanoseconds(long rounds) {
  pseud::detail::CallObserver observer({std::make_shared<bench::IdleInterceptor>()}, true, 1024);
  const auto started = Clock::now();
  for (long i = 0; i < rounds; ++i) {
    for (const auto direction : {pseud::CallDirection::incoming, pseud::CallDirection::outgoing}) {
      const auto now = Clock::now();
      const pseud::CallInfo call{direction, "echo", "client-1", {}, now, std::nullopt};
      auto* counters = observer.begin(call);
      if (observer.ask(call)) return -1;
      observer.end(call, counters, pseud::CallOutcome::ok, {}, Clock::now());
    }
  }
  return std::chrono::duration<double, std::nano>(Clock::now() - started).count() / static_cast<double>(rounds);
}

}  // namespace

int main(int argc, char** argv) {
  long calls = 20000;
  std::optional<double> require;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--calls") == 0 && i + 1 < argc) {
      calls = std::atol(argv[++i]);
    } else if (std::strcmp(argv[i], "--require") == 0 && i + 1 < argc) {
      require = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: pseud-observe-bench [--calls N] [--require RATIO]\n");
      return 2;
    }
  }
  if (calls < 100) calls = 100;
  std::vector<std::unique_ptr<Pair>> owned;
  owned.push_back(std::make_unique<Pair>("bare", bench::Observation::bare));
  owned.push_back(std::make_unique<Pair>("standard", bench::Observation::standard));
  owned.push_back(std::make_unique<Pair>("intercepted", bench::Observation::intercepted));
  std::vector<Pair*> pairs{owned[0].get(), owned[1].get(), owned[2].get()};
  const pseud::Bytes payload(std::string(16, 'x'));
  const pseud::CallOptions options{.timeout = std::chrono::seconds(10)};
  for (Pair* pair : pairs) {
    for (int i = 0; i < 500; ++i) pair->client->call<pseud::Bytes>("echo", payload, options);  // warm up
    pair->micros.reserve(static_cast<std::size_t>(calls));
  }
  for (long i = 0; i < calls; ++i) {
    // Each round starts with another pair: none always goes first.
    for (std::size_t k = 0; k < pairs.size(); ++k) {
      Pair& pair = *pairs[(k + static_cast<std::size_t>(i)) % pairs.size()];
      const auto started = Clock::now();
      pair.client->call<pseud::Bytes>("echo", payload, options);
      pair.micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - started).count());
    }
  }
  for (const Pair* pair_ptr : pairs) {
    const Pair& pair = *pair_ptr;
    std::printf("{\"observe\": \"%s\", \"calls\": %zu, \"p50_us\": %.2f, \"p90_us\": %.2f, \"p99_us\": %.2f}\n",
                pair.name.c_str(), pair.micros.size(), quantile(pair.micros, 0.5), quantile(pair.micros, 0.9),
                quantile(pair.micros, 0.99));
  }
  const double observer_ns = observer_nanoseconds(1000000);
  std::printf("{\"observer_ns_per_call\": %.1f, \"share_of_p50\": %.5f}\n", observer_ns,
              observer_ns / 1000.0 / quantile(pairs[1]->micros, 0.5));
  compare(*pairs[1], *pairs[0], std::nullopt);
  compare(*pairs[2], *pairs[1], require);
  const double ratio = quantile(pairs[2]->micros, 0.5) / quantile(pairs[1]->micros, 0.5);
  return require && ratio > *require ? 1 : 0;
}
