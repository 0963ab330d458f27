#pragma once
// A fleet: the clients one client process holds, simulated (over libzmq
// sockets or raw ZMTP) or real (pseud::Client). The
// client process (client_role.cpp) drives it through three phases: connect
// every client and make its first call; idle (heartbeats only) until told
// otherwise; and load, every client keeping one call in flight.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "histogram.hpp"
#include "keys.hpp"

namespace pseud::load {

struct FleetOptions {
  std::string endpoint;
  std::size_t count = 0;
  std::size_t first = 0;            ///< global number of the first client (names, ids)
  std::size_t payload = 32;         ///< bytes echoed by every call
  bool liveness = false;            ///< heartbeat backend "liveness" at the default interval, else "noop"
  long interval_ms = 1000;          ///< liveness: pseud's default
  long liveness_count = 3;          ///< liveness: pseud's default
  std::string server_public_key;    ///< CURVE when not empty (32 bytes)
  std::vector<KeyPair> keys;        ///< CURVE: one pair per client
  std::int64_t t0_ns = 0;           ///< when the orchestrator started spawning (first-call times are from here)
};

struct ConnectReport {
  std::size_t ok = 0;               ///< clients whose first call was answered correctly
  std::size_t failed = 0;
  std::int64_t last_ns = 0;         ///< when the last first call was answered
  Histogram first_call;             ///< µs from t0 to each client's first reply
};

struct LoadReport {
  std::uint64_t in_window = 0;      ///< replies received in [start, end)
  Histogram latency;                ///< µs per call, for replies in the window
  std::size_t unanswered = 0;       ///< calls still in flight at the drain deadline
};

struct FleetCounters {
  std::uint64_t calls = 0;          ///< WORK sent
  std::uint64_t ok = 0;             ///< correct OK replies
  std::uint64_t errors = 0;         ///< wrong replies, ERRORs, failed sends, malformed messages
  std::uint64_t heartbeats_sent = 0;
  std::uint64_t heartbeats_received = 0;
  std::uint64_t gone = 0;           ///< times a client's liveness check would have declared the server gone
  std::string first_error;
  std::string first_gone;
};

class Fleet {
 public:
  virtual ~Fleet() = default;
  /// Connects every client and makes its first call; returns when all were answered or at `deadline_ns`.
  virtual ConnectReport connect_all(std::int64_t deadline_ns) = 0;
  /// Keeps the clients alive (heartbeats) until `fd` is readable or `deadline_ns`.
  virtual void idle_until_readable(int fd, std::int64_t deadline_ns) = 0;
  /// Every client keeps one call in flight until `end_ns`; replies in [start_ns, end_ns)
  /// are counted. Then waits until `drain_ns` for the calls still in flight.
  virtual LoadReport load(std::int64_t start_ns, std::int64_t end_ns, std::int64_t drain_ns) = 0;
  virtual FleetCounters counters() const = 0;
};

/// Simulated clients, one libzmq ROUTER socket each, all in one thread (zmq_fleet.cpp).
std::unique_ptr<Fleet> make_zmq_fleet(const FleetOptions& options);

/// Simulated clients speaking ZMTP over raw TCP sockets, all in one thread; plain only (zmtp_fleet.cpp).
std::unique_ptr<Fleet> make_zmtp_fleet(const FleetOptions& options);

/// Real pseud::Client objects (real_fleet.cpp).
std::unique_ptr<Fleet> make_real_fleet(const FleetOptions& options);

}  // namespace pseud::load
