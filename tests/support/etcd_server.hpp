#pragma once
// A real etcd (Debian's etcd-server, /usr/bin/etcd) for the discovery
// tests: loopback by default (or another address, in a network namespace of
// its own), free ports, a temporary data directory, waits for /health, can
// be stopped, frozen, wiped and started again on the same ports, and dies
// with the test (PR_SET_PDEATHSIG).

#include <sys/types.h>

#include <chrono>
#include <string>

namespace pseud::test {

struct EtcdServerOptions {
  /// The IPv4 address etcd listens on (its client and peer ports).
  std::string host = "127.0.0.1";
  /// When set: etcd runs in this network namespace (`ip netns exec NAME
  /// etcd ...`; needs root and iproute2), where `host` is one of its
  /// addresses, and the health checks enter it too. Its ports are chosen
  /// free on this namespace's loopback: a fresh namespace has them free too.
  std::string network_namespace{};
};

class EtcdServer {
 public:
  using Clock = std::chrono::steady_clock;

  /// The etcd program: $PSEUD_ETCD, or /usr/bin/etcd.
  static std::string program();
  /// True when program() can be run.
  static bool installed();

  /// Starts etcd on loopback and waits until it is healthy (at most 10 s a
  /// try, 3 tries with fresh ports). Throws std::runtime_error naming its log.
  EtcdServer();
  /// The same, where `options` say.
  explicit EtcdServer(EtcdServerOptions options);
  /// Stops it (SIGKILL) and removes its directory.
  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  /// "etcd://HOST:PORT" (HOST 127.0.0.1 by default), for pseud::make_discovery.
  std::string address() const;
  /// "http://HOST:PORT".
  std::string client_url() const;
  int client_port() const noexcept { return client_port_; }
  pid_t pid() const noexcept { return pid_; }
  bool running() const noexcept { return pid_ > 0; }

  /// SIGTERM, then SIGKILL after `grace`; reaps it.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));
  /// Starts it again on the same ports and data directory; waits until it
  /// is healthy (at most 10 s) and returns that moment. Throws when it is not.
  Clock::time_point start();
  /// Removes the data directory (etcd must be stopped): the next start is a new cluster.
  void wipe_data();
  /// SIGSTOP / SIGCONT: etcd keeps its sockets but answers nothing.
  void freeze();
  void thaw();

  /// True when GET /health answers {"health":"true"} within `limit`.
  bool healthy(std::chrono::milliseconds limit = std::chrono::milliseconds(500)) const;

 private:
  bool launch_and_wait();  // false when etcd exited or never became healthy
  void kill_now();

  EtcdServerOptions options_;
  std::string ip_program_;  // iproute2's ip, with a network namespace
  std::string directory_;
  std::string data_dir_;
  std::string log_path_;
  int client_port_ = 0;
  int peer_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace pseud::test
