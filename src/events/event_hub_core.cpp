// Layer 6 (events): an EventHub's thread (event_hub_core.hpp).

#include "events/event_hub_core.hpp"

#include <pthread.h>
#include <sodium.h>
#include <zmq.h>

#include <algorithm>

#include "events/event_frames.hpp"
#include "events/hex_text.hpp"
#include "log.hpp"
#include "peer/process_context.hpp"
#include "pseud/errors.hpp"

namespace pseud::detail {

namespace {

// Messages read from the socket before the hub looks at its timers and queue.
constexpr int read_budget = 1000;
// Subscribers send small messages only (SUB with its patterns, ACK, PING).
constexpr std::int64_t max_inbound_bytes = 64 * 1024;
// A ticket is redeemed within this of being issued, or never.
constexpr auto ticket_lifetime = std::chrono::seconds(30);
constexpr auto liveness_check = std::chrono::milliseconds(250);

std::string_view view_of(const zmq::message_t& message) { return {message.data<char>(), message.size()}; }

std::optional<std::string> group_problem(std::string_view group) {
  if (group.size() > 255) return "a group name of more than 255 bytes";
  for (const char c : group) {
    if (c <= ' ' || c > '~') return "a group name holding a byte that is not printable ASCII";
  }
  return std::nullopt;
}

}  // namespace

EventHubCore::EventHubCore(std::string source, EventHubOptions options)
    : source_(std::move(source)),
      options_(std::move(options)),
      context_(events_context()),
      socket_(*context_, zmq::socket_type::router),
      tickets_(options_.max_subscribers, ticket_lifetime),
      groups_(GroupLimits{options_.max_group_backlog, options_.max_group_backlog_bytes, options_.ack_timeout,
                          options_.retries, options_.retry_backoff}) {
  if (options_.retries < 0) throw UsageError("EventHubOptions::retries must be 0 or more");
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::router_mandatory, 1);
  socket_.set(zmq::sockopt::sndhwm, options_.send_queue_limit);
  socket_.set(zmq::sockopt::maxmsgsize, max_inbound_bytes);
  // Its own CURVE keys, handed to subscribers with their tickets: the events
  // are as private as the call that got the ticket.
  char public_key[41], secret_key[41];
  if (zmq_curve_keypair(public_key, secret_key) != 0) throw Error("EventHub: libzmq has no CURVE support");
  public_key_ = public_key;
  socket_.set(zmq::sockopt::curve_server, 1);
  socket_.set(zmq::sockopt::curve_secretkey, std::string(secret_key));
  sodium_memzero(secret_key, sizeof secret_key);
  socket_.bind(options_.endpoint);
  endpoint_ = options_.advertise.empty() ? socket_.get(zmq::sockopt::last_endpoint) : options_.advertise;
  thread_ = std::thread([this] { run(); });
}

EventHubCore::~EventHubCore() { stop(); }

void EventHubCore::stop() {
  stopping_.store(true);
  queue_.wake();
  if (thread_.joinable()) thread_.join();
}

std::string EventHubCore::emit(std::string_view type, std::string_view packed_body,
                               std::map<std::string, std::string> headers, std::string source) {
  if (auto why = event_type_problem(type)) throw UsageError("emit '" + std::string(type) + "': " + *why);
  if (headers.size() > options_.max_headers) {
    throw UsageError("emit '" + std::string(type) + "': " + std::to_string(headers.size()) +
                     " headers (EventHubOptions::max_headers is " + std::to_string(options_.max_headers) + ")");
  }
  if (stopping_.load()) throw PeerStoppedError("emit '" + std::string(type) + "': the event hub is stopped");
  std::string id = random_hex(16);
  WireBuffer packed =
      events_wire::encode_event(id, type, source.empty() ? source_ : source, headers, packed_body);
  if (packed.size() > options_.max_event_bytes) {
    throw MessageTooLargeError("emit '" + std::string(type) + "': the event is " + std::to_string(packed.size()) +
                               " bytes, over EventHubOptions::max_event_bytes (" +
                               std::to_string(options_.max_event_bytes) + "); nothing was sent");
  }
  const std::size_t bytes = packed.size();
  if (queued_bytes_.fetch_add(bytes) + bytes > options_.max_group_backlog_bytes) {
    queued_bytes_.fetch_sub(bytes);
    throw OutboxFullError("emit '" + std::string(type) + "': the hub has " +
                          std::to_string(options_.max_group_backlog_bytes) +
                          " bytes of events not routed yet; it cannot keep up with this rate");
  }
  Emitted event{id, std::string(type), zmq::message_t(packed.data(), packed.size())};
  if (!queue_.push(std::move(event))) {
    queued_bytes_.fetch_sub(bytes);
    throw PeerStoppedError("emit '" + std::string(type) + "': the event hub is stopped");
  }
  return id;
}

EventHubStats EventHubCore::stats() const {
  EventHubStats s;
  s.emitted = counters_.emitted.load();
  s.broadcast_sent = counters_.broadcast_sent.load();
  s.broadcast_dropped = counters_.broadcast_dropped.load();
  s.group_sent = counters_.group_sent.load();
  s.group_acked = counters_.group_acked.load();
  s.group_retried = counters_.group_retried.load();
  s.dead_lettered = counters_.dead_lettered.load();
  s.group_dropped = counters_.group_dropped.load();
  s.unmatched = counters_.unmatched.load();
  s.subscriptions_refused = counters_.subscriptions_refused.load();
  s.malformed_messages = counters_.malformed_messages.load();
  s.subscribers = counters_.subscribers.load();
  s.group_backlog = counters_.group_backlog.load();
  return s;
}

void EventHubCore::run() {
  ::pthread_setname_np(::pthread_self(), "pseud-events");
  std::vector<Emitted> batch;
  while (!stopping_.load()) {
    const auto now = Clock::now();
    const long timeout = std::chrono::ceil<std::chrono::milliseconds>(next_wake(now) - now).count();
    zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, queue_.fd(), ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, std::chrono::milliseconds(std::max(timeout, 0L)));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      log(LogLevel::error, "pseud: event hub poll failed: ", e.what(), "; stopping");
      break;
    }
    if (items[1].revents & ZMQ_POLLIN) {
      queue_.take_all(batch);
      for (Emitted& event : batch) {
        queued_bytes_.fetch_sub(event.packed.size());
        route(event);
      }
      batch.clear();
    }
    if (items[0].revents & ZMQ_POLLIN) drain_socket();
    const auto after = Clock::now();
    run_timers(after);
    dispatch_groups(after);
    counters_.subscribers.store(members_.size());
    counters_.group_backlog.store(groups_.backlog());
  }
  queue_.close();
  socket_.close();
}

EventHubCore::Clock::time_point EventHubCore::next_wake(Clock::time_point now) const {
  auto wake = std::max(next_liveness_check_, now);
  if (const auto deadline = groups_.next_deadline(); deadline && *deadline < wake) wake = std::max(*deadline, now);
  return wake;
}

void EventHubCore::drain_socket() {
  zmq::message_t sender, kind, body, extra;
  for (int read = 0; read < read_budget; ++read) {
    if (!socket_.recv(sender, zmq::recv_flags::dontwait)) return;
    const auto now = Clock::now();
    bool more = sender.more();
    int frames = 1;
    if (more) {
      (void)socket_.recv(kind);
      more = kind.more();
      ++frames;
    }
    if (more) {
      (void)socket_.recv(body);
      more = body.more();
      ++frames;
    }
    while (more) {  // more frames than any message has: read and dropped
      (void)socket_.recv(extra);
      more = extra.more();
      ++frames;
    }
    if (frames < 2 || frames > 3) {
      counters_.malformed_messages.fetch_add(1);
      continue;
    }
    handle(std::string(view_of(sender)), view_of(kind), frames == 3 ? view_of(body) : std::string_view{}, now);
  }
}

void EventHubCore::handle(const std::string& sender, std::string_view kind, std::string_view body,
                          Clock::time_point now) {
  if (kind == events_wire::sub) return admit(sender, body, now);
  HubMember* member = members_.find(sender);
  if (kind == events_wire::ping) {
    if (member) {
      member->last_heard = now;
      send(sender, events_wire::pong);
    } else {
      send(sender, events_wire::unknown);  // the subscriber subscribes again
    }
    return;
  }
  if (member && (kind == events_wire::ack || kind == events_wire::nack)) {
    member->last_heard = now;
    return on_answer(sender, body, kind == events_wire::nack, now);
  }
  counters_.malformed_messages.fetch_add(1);
}

void EventHubCore::deny(const std::string& sender, const std::string& why) {
  counters_.subscriptions_refused.fetch_add(1);
  zmq::message_t reason(why.data(), why.size());
  std::vector<zmq::message_t> rest;
  rest.push_back(std::move(reason));
  send(sender, events_wire::denied, std::move(rest));
}

void EventHubCore::admit(const std::string& sender, std::string_view body, Clock::time_point now) {
  const auto request = events_wire::decode_sub(body, options_.max_subscriptions_per_subscriber);
  if (!request) {
    return deny(sender, "a malformed SUB, or more than " + std::to_string(options_.max_subscriptions_per_subscriber) +
                            " subscriptions (EventHubOptions::max_subscriptions_per_subscriber)");
  }
  const auto holder = tickets_.redeem(request->ticket, now);
  if (!holder) return deny(sender, "an unknown, spent or expired ticket (each SUB needs a fresh one from pseud.events.ticket)");
  HubMember* existing = members_.find(sender);
  if (!existing && members_.size() >= options_.max_subscribers) {
    return deny(sender, "the hub has " + std::to_string(members_.size()) + " subscribers, its limit");
  }
  HubMember member{sender, *holder, {}, now, existing ? existing->unacked : 0};
  for (const auto& subscription : request->subscriptions) {
    if (auto why = TopicPattern::problem(subscription.pattern)) return deny(sender, "pattern: " + *why);
    if (auto why = group_problem(subscription.group)) return deny(sender, "group: " + *why);
    member.subscriptions.push_back({TopicPattern(subscription.pattern), subscription.group});
  }
  members_.admit(std::move(member));
  log(LogLevel::info, "pseud: event subscriber '", *holder, "' admitted with ", request->subscriptions.size(),
      " subscription(s)");
  send(sender, events_wire::welcome);
}

void EventHubCore::on_answer(const std::string& sender, std::string_view body, bool refused, Clock::time_point now) {
  const auto answer = events_wire::decode_ack(body, refused);
  if (!answer) {
    counters_.malformed_messages.fetch_add(1);
    return;
  }
  if (!refused) {
    if (groups_.acknowledge(answer->event_id, answer->group, sender)) {
      counters_.group_acked.fetch_add(1);
      if (HubMember* member = members_.find(sender); member && member->unacked > 0) member->unacked -= 1;
    }
    return;
  }
  if (auto failed = groups_.refuse(answer->event_id, answer->group, sender, now)) {
    std::vector<GroupDeliveries::Failed> one;
    one.push_back(std::move(*failed));
    settle(std::move(one));
  }
}

void EventHubCore::route(Emitted& event) {
  counters_.emitted.fetch_add(1);
  bool matched = false;
  std::vector<std::string> broadcast_to;
  members_.for_each([&](const HubMember& member) {
    if (member.wants_broadcast(event.type)) broadcast_to.push_back(member.routing_id);
  });
  for (const std::string& routing_id : broadcast_to) {
    matched = true;
    std::vector<zmq::message_t> rest;
    rest.emplace_back();  // group "": broadcast
    rest.emplace_back();
    rest.back().copy(event.packed);
    if (send(routing_id, events_wire::evt, std::move(rest)) == 0) {
      counters_.broadcast_sent.fetch_add(1);
    } else {
      counters_.broadcast_dropped.fetch_add(1);
    }
  }
  for (std::string& group : members_.groups_for(event.type)) {
    matched = true;
    GroupEvent delivery{event.id, event.type, std::move(group), {}, 0, {}, event.packed.size()};
    delivery.packed.copy(event.packed);
    if (!groups_.enqueue(std::move(delivery))) counters_.group_dropped.fetch_add(1);
  }
  if (!matched) counters_.unmatched.fetch_add(1);
}

void EventHubCore::dispatch_groups(Clock::time_point now) {
  std::vector<std::string> candidates;
  const auto pick = [&](const GroupEvent& event) -> std::string {
    candidates.clear();
    members_.for_each([&](const HubMember& member) {
      if (member.unacked < options_.max_unacked_per_member && member.in_group_for(event.group, event.type)) {
        candidates.push_back(member.routing_id);
      }
    });
    if (candidates.empty()) return {};
    std::sort(candidates.begin(), candidates.end());  // a stable order for the round robin
    std::string chosen = candidates[round_robin_++ % candidates.size()];
    if (chosen == event.last_member && candidates.size() > 1) chosen = candidates[round_robin_++ % candidates.size()];
    return chosen;
  };
  const auto deliver = [&](const std::string& routing_id, const GroupEvent& event) {
    std::vector<zmq::message_t> rest;
    rest.emplace_back(event.group.data(), event.group.size());
    rest.emplace_back();
    rest.back().copy(const_cast<zmq::message_t&>(event.packed));
    if (send(routing_id, events_wire::evt, std::move(rest)) != 0) return false;
    counters_.group_sent.fetch_add(1);
    if (HubMember* member = members_.find(routing_id)) member->unacked += 1;
    return true;
  };
  groups_.dispatch(now, pick, deliver);
}

void EventHubCore::run_timers(Clock::time_point now) {
  groups_.release_retries(now);
  settle(groups_.expire(now));
  if (now < next_liveness_check_) return;
  next_liveness_check_ = now + liveness_check;
  for (const std::string& silent : members_.silent_since(now - options_.subscriber_timeout)) {
    log(LogLevel::info, "pseud: event subscriber dropped: silent for ", options_.subscriber_timeout.count(), " ms");
    drop_member(silent, now);
  }
}

void EventHubCore::drop_member(const std::string& routing_id, Clock::time_point now) {
  members_.remove(routing_id);
  settle(groups_.member_gone(routing_id, now));
}

void EventHubCore::settle(std::vector<GroupDeliveries::Failed> failed) {
  for (GroupDeliveries::Failed& f : failed) {
    if (HubMember* member = members_.find(f.event.last_member); member && member->unacked > 0) member->unacked -= 1;
    if (f.dead) {
      dead_letter(f.event, "not acknowledged after " + std::to_string(f.event.attempts) + " deliveries");
      counters_.dead_lettered.fetch_add(1);  // after the hook: whoever sees the count sees what the hook did
    } else {
      counters_.group_retried.fetch_add(1);
    }
  }
}

void EventHubCore::dead_letter(const GroupEvent& event, const std::string& why) {
  log(LogLevel::warning, "pseud: event ", event.id, " (", event.type, ") dead-lettered for group '", event.group,
      "': ", why);
  if (!options_.dead_letter) return;
  auto fields = events_wire::decode_event(view_of(event.packed));
  if (!fields) return;
  Event dead{fields->id, fields->type, fields->source, std::move(fields->headers), std::move(fields->body)};
  try {
    options_.dead_letter(dead, event.group, why);
  } catch (const std::exception& e) {
    log(LogLevel::error, "pseud: the dead-letter hook threw: ", e.what());
  }
}

int EventHubCore::send(const std::string& routing_id, std::string_view kind, std::vector<zmq::message_t> rest) {
  try {
    zmq::message_t id(routing_id.data(), routing_id.size());
    if (!socket_.send(id, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return EAGAIN;
    zmq::message_t kind_frame(kind.data(), kind.size());
    // Once the first frame is accepted the rest of the message is too.
    (void)socket_.send(kind_frame, rest.empty() ? zmq::send_flags::none : zmq::send_flags::sndmore);
    for (std::size_t i = 0; i < rest.size(); ++i) {
      (void)socket_.send(rest[i], i + 1 < rest.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
    return 0;
  } catch (const zmq::error_t& e) {
    return e.num();  // EHOSTUNREACH: that connection is gone
  }
}

}  // namespace pseud::detail
