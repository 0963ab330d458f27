// Job dispatch: a server hands work to every connected client and collects
// the results. Clients join and the server tracks them; each job goes to a
// connected client by its routing id, round robin.

#include <condition_variable>
#include <future>
#include <iostream>
#include <mutex>
#include <vector>

#include <pseud/pseud.hpp>

int main() {
  constexpr int worker_count = 8;
  constexpr int job_count = 100;

  std::mutex mutex;
  std::condition_variable joined;
  pseud::PeerOptions server_options;
  server_options.heartbeat = {"liveness", {{"interval_ms", "200"}}};
  server_options.on_peer_joined = [&](const pseud::PeerInfo&) { joined.notify_all(); };
  pseud::Server server("dispatcher", server_options);
  const std::string endpoint = server.bind("tcp://127.0.0.1:*");

  std::vector<std::unique_ptr<pseud::Client>> workers;
  for (int i = 0; i < worker_count; ++i) {
    pseud::PeerOptions options;
    options.routing_id = "worker-" + std::to_string(i);
    options.heartbeat = {"liveness", {{"interval_ms", "200"}}};
    auto worker = std::make_unique<pseud::Client>("dispatcher", options);
    worker->register_rpc("square", [](long long n) { return n * n; });
    worker->connect(endpoint);
    worker->call<void>(pseud::introspection_function);  // says hello: the server now knows it
    workers.push_back(std::move(worker));
  }
  {
    std::unique_lock lock(mutex);
    if (!joined.wait_for(lock, std::chrono::seconds(5),
                         [&] { return server.connected_peers().size() == worker_count; })) {
      std::cerr << "workers did not join in time\n";
      return 1;
    }
  }

  const std::vector<pseud::PeerInfo> peers = server.connected_peers();
  std::vector<std::future<long long>> results;
  for (int job = 0; job < job_count; ++job) {
    const pseud::PeerInfo& peer = peers[static_cast<std::size_t>(job) % peers.size()];
    results.push_back(server.send_to(peer.routing_id).async_call<long long>("square", job));
  }
  long long total = 0;
  for (auto& result : results) total += result.get();
  const long long expected = static_cast<long long>(job_count - 1) * job_count * (2 * job_count - 1) / 6;
  std::cout << job_count << " jobs over " << peers.size() << " workers: sum of squares " << total
            << (total == expected ? " (correct)" : " (WRONG)") << "\n";
  return total == expected ? 0 : 1;
}
