// Layer 5 (peer): Peer::metrics() and pseud.metrics, the reserved function
// that answers them to the remote callers PeerOptions::metrics_access lets in.

#include "engine/engine.hpp"
#include "pseud/peer.hpp"

namespace pseud {

namespace {

double milliseconds(std::chrono::nanoseconds duration) {
  return std::chrono::duration<double, std::milli>(duration).count();
}

}  // namespace

MetricsReport metrics_report(std::string peer, const MetricsSnapshot& snapshot) {
  MetricsReport report{std::move(peer), {}};
  report.functions.reserve(snapshot.functions.size());
  for (const FunctionMetrics& entry : snapshot.functions) {
    report.functions.push_back(MetricsReportRow{entry.function, std::string(call_direction_name(entry.direction)),
                                                entry.calls, entry.errors, entry.in_flight, entry.timeouts,
                                                entry.refused, milliseconds(entry.p50), milliseconds(entry.p90),
                                                milliseconds(entry.p99), milliseconds(entry.max)});
  }
  return report;
}

MetricsSnapshot Peer::metrics() const { return engine_->metrics(); }

void Peer::register_metrics(const PeerOptions& options) {
  registry_.register_rpc(
      std::string(metrics_function),
      [this]() { return metrics_report(routing_id_, metrics()); },
      {.domain = std::string(metrics_domain),
       .doc = "This peer's calls per function, both ways: calls, errors, in flight and latency percentiles."});
  // Without a predicate the domain refuses every caller (fail closed).
  if (options.metrics_access) registry_.set_predicate(std::string(metrics_domain), options.metrics_access);
}

}  // namespace pseud
