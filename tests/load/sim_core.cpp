#include "sim_core.hpp"

#include <algorithm>
#include <climits>

#include "clock.hpp"
#include "wire.hpp"

namespace pseud::load {

namespace {

constexpr std::size_t open_batch = 256;  // clients opened between two pump() passes
// Clients of one process between connect() and their first reply. Ten
// thousand SYNs at once overflow the kernel's SYN and accept queues
// (tcp_max_syn_backlog 2048, somaxconn 4096 here) on any server, raw libzmq
// included, and the dropped ones come back a whole SYN retransmit (1 s)
// later: that would measure the kernel, not the server.
constexpr std::size_t max_connecting = 512;

}  // namespace

SimCore::SimCore(const FleetOptions& options)
    : options_(options),
      work_body_(work_body(options.payload)),
      ok_body_(ok_body(options.payload)),
      peers_(options.count),
      next_sweep_(INT64_MAX) {}

template <class Done>
bool SimCore::run_until(std::int64_t deadline_ns, Done&& done) {
  while (!done()) {
    const auto now = now_ns();
    if (now >= next_sweep_) sweep(now);
    if (now >= deadline_ns) return false;
    if (pump(ms_until(std::min(deadline_ns, next_sweep_)))) return true;
  }
  return false;
}

ConnectReport SimCore::connect_all(std::int64_t deadline_ns) {
  phase_ = Phase::connect;
  first_pending_ = peers_.size();
  const auto now = now_ns();
  for (auto& peer : peers_) peer.last_heard_ns = peer.last_sent_ns = now;
  if (options_.liveness) next_sweep_ = now_ns() + ms_to_ns(options_.interval_ms) / 2;
  std::uint32_t opened = 0;
  while (opened < peers_.size() && now_ns() < deadline_ns) {
    const std::size_t completed = peers_.size() - first_pending_;
    if (opened - completed < max_connecting) {
      open(opened++);
      if (opened % open_batch == 0) pump(0);
    } else {
      if (now_ns() >= next_sweep_) sweep(now_ns());
      pump(1);
    }
  }
  run_until(deadline_ns, [this] { return first_pending_ == 0; });
  connect_.failed += first_pending_;
  if (first_pending_ > 0) {
    note_error(std::to_string(first_pending_) + " first calls unanswered at the deadline " + stalled());
  }
  phase_ = Phase::idle;
  return connect_;
}

void SimCore::idle_until_readable(int fd, std::int64_t deadline_ns) {
  watch(fd, true);
  run_until(deadline_ns, [] { return false; });
  watch(fd, false);
}

LoadReport SimCore::load(std::int64_t start_ns, std::int64_t end_ns, std::int64_t drain_ns) {
  load_ = LoadReport{};
  window_start_ = start_ns;
  window_end_ = end_ns;
  phase_ = Phase::load;
  for (std::uint32_t i = 0; i < peers_.size(); ++i) {
    if (!peers_[i].gone && peers_[i].sent_ns == 0) send_work(i);
  }
  run_until(end_ns, [] { return false; });
  phase_ = Phase::drain;
  run_until(drain_ns, [this] { return in_flight_ == 0; });
  load_.unanswered = in_flight_;
  phase_ = Phase::idle;
  return load_;
}

void SimCore::on_message(std::uint32_t index, std::span<const std::string_view> frames) {
  Peer& peer = peers_[index];
  const auto now = now_ns();
  peer.last_heard_ns = now;
  if (frames.size() != 5 || !frames[0].empty() || frames[1] != version || frames[3].size() != 1) {
    return fail(index, "malformed " + std::to_string(frames.size()) + "-frame message");
  }
  const char type = frames[3][0];
  if (type == type_heartbeat) {
    ++counters_.heartbeats_received;
    peer.server_heartbeats = true;
    if (!frames[2].empty() || !frames[4].empty()) fail(index, "HEARTBEAT with an id or a body");
    return;
  }
  if (type != type_ok) {
    return fail(index, type == type_error ? "ERROR reply: " + std::string(frames[4])
                                          : "unexpected message type " + std::to_string(type));
  }
  if (peer.sent_ns == 0 || frames[2] != message_id(global(index), peer.sequence)) {
    return fail(index, "OK for no call in flight");
  }
  if (frames[4] != ok_body_) return fail(index, "OK body is not the payload");
  ++counters_.ok;
  const std::int64_t latency_us = (now - peer.sent_ns) / 1000;
  peer.sent_ns = 0;
  --in_flight_;
  if (!peer.first_done) {
    peer.first_done = true;
    --first_pending_;
    ++connect_.ok;
    connect_.first_call.add((now - options_.t0_ns) / 1000);
    connect_.last_ns = now;
  }
  if (phase_ != Phase::load) return;
  if (now >= window_start_ && now < window_end_) {
    ++load_.in_window;
    load_.latency.add(latency_us);
  }
  if (now < window_end_) send_work(index);
}

void SimCore::fail(std::uint32_t index, const std::string& why) {
  Peer& peer = peers_[index];
  note_error("client " + std::to_string(global(index)) + ": " + why);
  if (peer.sent_ns != 0) {
    peer.sent_ns = 0;
    --in_flight_;
  }
  if (!peer.first_done) {
    peer.first_done = true;
    --first_pending_;
    ++connect_.failed;
  }
}

void SimCore::note_error(const std::string& why) {
  if (counters_.errors++ == 0) counters_.first_error = why;
}

bool SimCore::send(std::uint32_t index, char type, std::string_view id, std::string_view body) {
  if (!transmit(index, type, id, body)) return false;
  peers_[index].last_sent_ns = now_ns();
  return true;
}

void SimCore::send_work(std::uint32_t index) {
  Peer& peer = peers_[index];
  ++peer.sequence;
  if (!send(index, type_work, message_id(global(index), peer.sequence), work_body_)) {
    return fail(index, "cannot send WORK");
  }
  peer.sent_ns = peer.last_sent_ns;
  ++in_flight_;
  ++counters_.calls;
}

// What pseud's liveness backend does every H/2 (plugins/heartbeat/liveness.cpp).
void SimCore::sweep(std::int64_t now) {
  const std::int64_t interval = ms_to_ns(options_.interval_ms);
  next_sweep_ = now + interval / 2;
  for (std::uint32_t i = 0; i < peers_.size(); ++i) {
    Peer& peer = peers_[i];
    if (peer.gone || peer.sequence == 0) continue;  // gone, or not connected yet
    if (peer.server_heartbeats && now - peer.last_heard_ns > interval * options_.liveness_count) {
      // A pseud client would declare the server gone here (failing its calls in
      // flight) and note it again at its next message: count it, and carry on.
      ++counters_.gone;
      if (counters_.first_gone.empty()) {
        counters_.first_gone = "client " + std::to_string(global(i)) + ": the server was silent for " +
                               std::to_string((now - peer.last_heard_ns) / 1'000'000) + " ms";
      }
      peer.server_heartbeats = false;
    } else if (now - peer.last_sent_ns >= interval) {
      if (send(i, type_heartbeat, {}, {})) {
        ++counters_.heartbeats_sent;
      } else {
        fail(i, "cannot send HEARTBEAT");
      }
    }
  }
}

}  // namespace pseud::load
