// Layer 5 (peer): Peer::metrics() and pseud.metrics, the reserved function
// that answers them to the remote callers PeerOptions::metrics_access lets in.

#include <msgpack.hpp>

#include "engine/engine.hpp"
#include "pseud/peer.hpp"

namespace pseud {

namespace {

double milliseconds(std::chrono::nanoseconds duration) {
  return std::chrono::duration<double, std::milli>(duration).count();
}

// One row of pseud.metrics' answer: a map of named fields (protocol/METRICS.md).
struct MetricsRow {
  std::string function;
  std::string side;
  std::uint64_t calls, errors, in_flight, timeouts, refused;
  double p50_ms, p90_ms, p99_ms, max_ms;
  MSGPACK_DEFINE_MAP(function, side, calls, errors, in_flight, timeouts, refused, p50_ms, p90_ms, p99_ms, max_ms)
};

struct MetricsReply {
  std::string peer;
  std::vector<MetricsRow> functions;
  MSGPACK_DEFINE_MAP(peer, functions)
};

}  // namespace

MetricsSnapshot Peer::metrics() const { return engine_->metrics(); }

void Peer::register_metrics(const PeerOptions& options) {
  registry_.register_rpc(
      std::string(metrics_function),
      [this]() {
        MetricsReply reply{routing_id_, {}};
        for (const FunctionMetrics& entry : metrics().functions) {
          reply.functions.push_back(MetricsRow{entry.function, std::string(call_direction_name(entry.direction)),
                                               entry.calls, entry.errors, entry.in_flight, entry.timeouts,
                                               entry.refused, milliseconds(entry.p50), milliseconds(entry.p90),
                                               milliseconds(entry.p99), milliseconds(entry.max)});
        }
        return reply;
      },
      {.domain = std::string(metrics_domain),
       .doc = "This peer's calls per function, both ways: calls, errors, in flight and latency percentiles."});
  // Without a predicate the domain refuses every caller (fail closed).
  if (options.metrics_access) registry_.set_predicate(std::string(metrics_domain), options.metrics_access);
}

}  // namespace pseud
