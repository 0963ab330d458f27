// Round-trip cost of one call, against the raw-libzmq floor measured in the
// same run: the same pseud-shaped frames between two ROUTER sockets with no
// library in between. Report ratios, not absolute times: this machine is
// shared and noisy.
//
//   meson test -C build --benchmark roundtrip --verbose

#include <benchmark/benchmark.h>

#include <string>

#include <zmq.hpp>

#include "pseud/pseud.hpp"

namespace {

const std::string work_body = "\x93\xa3" "add" "\x92\x01\x02\x80";  // add(1, 2), as pseud packs it
const std::string reply_body = "\x03";

void send_frames(zmq::socket_t& socket, const std::string& to, const std::string& type, const std::string& body) {
  socket.send(zmq::buffer(to), zmq::send_flags::sndmore);
  socket.send(zmq::str_buffer(""), zmq::send_flags::sndmore);
  socket.send(zmq::str_buffer("v1"), zmq::send_flags::sndmore);
  socket.send(zmq::str_buffer("0123456789abcdef"), zmq::send_flags::sndmore);
  socket.send(zmq::buffer(type), zmq::send_flags::sndmore);
  socket.send(zmq::buffer(body), zmq::send_flags::none);
}

std::string receive_frames(zmq::socket_t& socket) {
  zmq::message_t frame;
  std::string sender;
  bool first = true;
  do {
    (void)socket.recv(frame);
    if (first) sender = frame.to_string();
    first = false;
  } while (frame.more());
  return sender;
}

// The floor: a ROUTER client and a ROUTER server echoing in a thread of its own.
void RawLibzmq(benchmark::State& state, const char* transport) {
  zmq::context_t context;
  zmq::socket_t server(context, zmq::socket_type::router);
  server.set(zmq::sockopt::routing_id, "server");
  server.set(zmq::sockopt::linger, 0);
  server.bind(std::string(transport) == "tcp" ? "tcp://127.0.0.1:*" : "inproc://raw-floor");
  const std::string endpoint = server.get(zmq::sockopt::last_endpoint);
  std::atomic<bool> running{true};
  std::thread echo([&] {
    server.set(zmq::sockopt::rcvtimeo, 100);
    while (running) {
      zmq::message_t frame;
      if (!server.recv(frame)) continue;
      const std::string sender = frame.to_string();
      int frames = 1;
      while (frame.more() && server.recv(frame)) ++frames;
      if (frames == 6) send_frames(server, sender, "\x01", reply_body);  // not the 2-frame probe
    }
  });
  zmq::socket_t client(context, zmq::socket_type::router);
  client.set(zmq::sockopt::linger, 0);
  client.set(zmq::sockopt::router_mandatory, 1);
  client.set(zmq::sockopt::probe_router, 1);
  client.connect(endpoint);
  // Wait until the route exists (ROUTER_MANDATORY reports it).
  while (true) {
    try {
      send_frames(client, "server", "\x03", work_body);
      receive_frames(client);
      break;
    } catch (const zmq::error_t&) {
      std::this_thread::yield();
    }
  }
  for (auto _ : state) {
    send_frames(client, "server", "\x03", work_body);
    receive_frames(client);
  }
  running = false;
  echo.join();
}

void Pseud(benchmark::State& state, const char* transport) {
  pseud::Server server("server");
  server.register_rpc("add", [](int a, int b) { return a + b; });
  static int counter = 0;
  pseud::Client client("server");
  client.connect(server.bind(std::string(transport) == "tcp" ? "tcp://127.0.0.1:*"
                                                              : "inproc://bench-" + std::to_string(counter++)));
  (void)client.call<int>("add", 1, 2);
  for (auto _ : state) {
    benchmark::DoNotOptimize(client.call<int>("add", 1, 2));
  }
}

void PseudPipelined(benchmark::State& state) {
  pseud::Server server("server");
  server.register_rpc("add", [](int a, int b) { return a + b; });
  pseud::Client client("server");
  client.connect(server.bind("tcp://127.0.0.1:*"));
  (void)client.call<int>("add", 1, 2);
  constexpr int window = 64;
  for (auto _ : state) {
    std::vector<std::future<int>> calls;
    calls.reserve(window);
    for (int i = 0; i < window; ++i) calls.push_back(client.async_call<int>("add", i, 1));
    for (auto& call : calls) benchmark::DoNotOptimize(call.get());
  }
  state.SetItemsProcessed(state.iterations() * window);
}

BENCHMARK_CAPTURE(RawLibzmq, tcp, "tcp")->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(Pseud, tcp, "tcp")->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(RawLibzmq, inproc, "inproc")->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(Pseud, inproc, "inproc")->UseRealTime()->MinTime(1.0);
BENCHMARK(PseudPipelined)->UseRealTime()->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
