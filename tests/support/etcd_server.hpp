#pragma once
// A real etcd (Debian's etcd-server, /usr/bin/etcd) for the discovery
// tests: loopback only, free ports, a temporary data directory, waits for
// /health, can be stopped, frozen, wiped and started again on the same
// ports, and dies with the test (PR_SET_PDEATHSIG).

#include <sys/types.h>

#include <chrono>
#include <string>

namespace pseud::test {

class EtcdServer {
 public:
  using Clock = std::chrono::steady_clock;

  /// The etcd program: $PSEUD_ETCD, or /usr/bin/etcd.
  static std::string program();
  /// True when program() can be run.
  static bool installed();

  /// Starts etcd and waits until it is healthy (at most 10 s a try, 3
  /// tries with fresh ports). Throws std::runtime_error naming its log.
  EtcdServer();
  /// Stops it (SIGKILL) and removes its directory.
  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  /// "etcd://127.0.0.1:PORT", for pseud::make_discovery.
  std::string address() const;
  /// "http://127.0.0.1:PORT".
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

  std::string directory_;
  std::string data_dir_;
  std::string log_path_;
  int client_port_ = 0;
  int peer_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace pseud::test
