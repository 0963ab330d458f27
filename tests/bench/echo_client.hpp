#pragma once
// The two clients of a repetition. Each connects its peers, makes one call
// per peer to be sure the route is up, then measures: latency mode keeps one
// call in flight per peer, throughput mode keeps `window` in flight per peer.
// Any failed or wrong call throws std::runtime_error.

#include <chrono>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "curve.hpp"
#include "measure.hpp"
#include "options.hpp"

namespace bench {

/// CURVE settings of a client.
struct ClientCurve {
  std::string server_public;
  KeyPair client;
};

struct ClientPlan {
  Config config;
  std::string endpoint;
  std::optional<ClientCurve> curve;
  std::chrono::milliseconds warmup{200};
  std::chrono::milliseconds duration{1000};
};

/// How long the first call (connection, handshake) and every later call may take.
inline constexpr std::chrono::milliseconds connect_timeout{10000};
inline constexpr std::chrono::milliseconds call_timeout{5000};

/// The bytes every call sends (and expects back).
std::string make_payload(std::size_t size);

/// Raw libzmq client peers in `context`, one thread each.
Measurement run_floor_client(zmq::context_t& context, const ClientPlan& plan);

/// pseud::Client peers: blocking call() on one thread per peer in latency
/// mode, async_call() callbacks issuing the next call in throughput mode.
Measurement run_pseud_client(const ClientPlan& plan);

}  // namespace bench
