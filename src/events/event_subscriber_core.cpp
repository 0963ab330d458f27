// Layer 6 (events): an EventSubscriber's thread (event_subscriber_core.hpp).

#include "events/event_subscriber_core.hpp"

#include <pthread.h>
#include <sodium.h>
#include <zmq.h>

#include <algorithm>
#include <map>

#include "events/event_frames.hpp"
#include "log.hpp"
#include "peer/process_context.hpp"
#include "pseud/errors.hpp"

namespace pseud::detail {

namespace {

// Events read before the thread looks at its timers and queue again.
constexpr int read_budget = 1000;
// After a failed (re)subscription in the background, the next try.
constexpr auto resubscribe_retry = std::chrono::seconds(1);

std::string_view view_of(const zmq::message_t& message) { return {message.data<char>(), message.size()}; }

}  // namespace

EventSubscriberCore::EventSubscriberCore(Client& client, EventSubscriberOptions options)
    : client_(&client), options_(options), context_(events_context()), seen_(options_.dedup_window) {
  thread_ = std::thread([this] { run(); });
}

EventSubscriberCore::~EventSubscriberCore() { stop(); }

void EventSubscriberCore::stop() {
  stopping_.store(true);
  queue_.wake();
  if (thread_.joinable()) thread_.join();
}

void EventSubscriberCore::subscribe(std::string_view pattern, Handler handler, DeliveryMode mode) {
  if (!handler) throw UsageError("subscribe('" + std::string(pattern) + "'): the handler is empty");
  if (mode.group.size() > 255) throw UsageError("subscribe: a group name of more than 255 bytes");
  TopicPattern parsed(pattern);  // throws UsageError naming the problem
  std::uint64_t serial;
  {
    const std::lock_guard lock(mutex_);
    serial = next_serial_++;
    auto next = std::make_shared<Locals>(*locals_);
    next->push_back(Local{serial, std::move(parsed), std::move(mode.group), std::move(handler)});
    locals_ = std::move(next);
  }
  const auto take_back = [&] {
    const std::lock_guard lock(mutex_);
    auto next = std::make_shared<Locals>(*locals_);
    std::erase_if(*next, [&](const Local& local) { return local.serial == serial; });
    locals_ = std::move(next);
  };
  auto done = std::make_shared<std::promise<void>>();
  auto verdict = done->get_future();
  if (stopping_.load() || !queue_.push(SubscribeRequest{done})) {
    take_back();
    throw PeerStoppedError("subscribe: the subscriber is stopped");
  }
  // The thread's own wait is admit_timeout; this one only covers a thread held up by a slow handler.
  if (verdict.wait_for(options_.admit_timeout * 2 + std::chrono::seconds(5)) != std::future_status::ready) {
    take_back();
    throw TimeoutError("subscribe('" + std::string(pattern) + "'): no verdict from the event hub");
  }
  try {
    verdict.get();
  } catch (...) {
    take_back();
    throw;
  }
}

std::shared_ptr<const EventSubscriberCore::Locals> EventSubscriberCore::locals() {
  const std::lock_guard lock(mutex_);
  return locals_;
}

EventSubscriberStats EventSubscriberCore::stats() const {
  EventSubscriberStats s;
  s.received = counters_.received.load();
  s.handled = counters_.handled.load();
  s.duplicates = counters_.duplicates.load();
  s.handler_errors = counters_.handler_errors.load();
  s.resubscribed = counters_.resubscribed.load();
  return s;
}

void EventSubscriberCore::run() {
  ::pthread_setname_np(::pthread_self(), "pseud-subscribe");
  std::vector<SubscribeRequest> batch;
  while (!stopping_.load()) {
    const auto now = Clock::now();
    const long timeout = std::chrono::ceil<std::chrono::milliseconds>(next_wake(now) - now).count();
    zmq::pollitem_t items[] = {{nullptr, queue_.fd(), ZMQ_POLLIN, 0},
                               {socket_ ? socket_->handle() : nullptr, 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, socket_ ? 2 : 1, std::chrono::milliseconds(std::max(timeout, 0L)));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      log(LogLevel::error, "pseud: event subscriber poll failed: ", e.what(), "; stopping");
      break;
    }
    if (items[0].revents & ZMQ_POLLIN) {
      queue_.take_all(batch);
      for (SubscribeRequest& request : batch) next_waiters_.push_back(std::move(request.done));
      if (!batch.empty()) want_subscription_ = true;
      batch.clear();
    }
    if (socket_ && (items[1].revents & ZMQ_POLLIN)) drain_socket(Clock::now());
    const auto after = Clock::now();
    if (want_subscription_ && !awaiting_welcome_ && after >= retry_at_) start_subscription(after);
    if (awaiting_welcome_ && after >= welcome_deadline_) {
      awaiting_welcome_ = false;
      finish_waiters(std::make_exception_ptr(
          TimeoutError("subscribe: the event hub at " + endpoint_ + " did not answer within " +
                       std::to_string(options_.admit_timeout.count()) + " ms")));
      if (admitted_) hub_lost("no answer to a new subscription", after);
    }
    if (admitted_ && after - last_heard_ > options_.hub_timeout) hub_lost("silent", after);
    if (admitted_ && after >= next_ping_) {
      send(events_wire::ping);
      next_ping_ = after + options_.ping_interval;
    }
  }
  waiters_.insert(waiters_.end(), next_waiters_.begin(), next_waiters_.end());
  finish_waiters(std::make_exception_ptr(PeerStoppedError("subscribe: the subscriber was stopped")));
  queue_.close();
  socket_.reset();
}

EventSubscriberCore::Clock::time_point EventSubscriberCore::next_wake(Clock::time_point now) const {
  auto wake = now + options_.ping_interval;
  if (admitted_) wake = std::min({wake, next_ping_, last_heard_ + options_.hub_timeout});
  if (awaiting_welcome_) wake = std::min(wake, welcome_deadline_);
  if (want_subscription_ && !awaiting_welcome_) wake = std::min(wake, retry_at_);
  return std::max(wake, now);
}

void EventSubscriberCore::start_subscription(Clock::time_point now) {
  want_subscription_ = false;
  // This SUB carries every subscription made so far: their callers wait for its verdict.
  waiters_.insert(waiters_.end(), next_waiters_.begin(), next_waiters_.end());
  next_waiters_.clear();
  std::map<std::string, std::string> ticket;
  try {
    // An ordinary call: the server's authentication and the hub's domain predicate decide.
    ticket = client_->call<std::map<std::string, std::string>>(
        events_ticket_function, CallOptions{.timeout = options_.admit_timeout});
  } catch (...) {
    finish_waiters(std::current_exception());
    if (in_background_) {
      want_subscription_ = true;  // keep trying until the server answers again
      retry_at_ = now + resubscribe_retry;
    }
    return;
  }
  const auto endpoint = ticket.find("endpoint");
  const auto key = ticket.find("key");
  const auto code = ticket.find("ticket");
  if (endpoint == ticket.end() || key == ticket.end() || code == ticket.end()) {
    finish_waiters(std::make_exception_ptr(ProtocolError("pseud.events.ticket answered without ticket, endpoint and key")));
    return;
  }
  if (!socket_ || endpoint->second != endpoint_) connect_socket(endpoint->second, key->second);
  events_wire::SubRequest request{code->second, {}};
  for (const Local& local : *locals()) request.subscriptions.push_back({local.pattern.text(), local.group});
  const WireBuffer body = events_wire::encode_sub(request);
  send(events_wire::sub, std::string_view(body.data(), body.size()));
  awaiting_welcome_ = true;
  welcome_deadline_ = Clock::now() + options_.admit_timeout;
}

void EventSubscriberCore::connect_socket(const std::string& endpoint, const std::string& server_key) {
  socket_.emplace(*context_, zmq::socket_type::dealer);
  socket_->set(zmq::sockopt::linger, 0);
  socket_->set(zmq::sockopt::rcvhwm, 100000);
  char public_key[41], secret_key[41];
  if (zmq_curve_keypair(public_key, secret_key) != 0) throw Error("EventSubscriber: libzmq has no CURVE support");
  socket_->set(zmq::sockopt::curve_serverkey, server_key);
  socket_->set(zmq::sockopt::curve_publickey, std::string(public_key));
  socket_->set(zmq::sockopt::curve_secretkey, std::string(secret_key));
  sodium_memzero(secret_key, sizeof secret_key);
  socket_->connect(endpoint);
  endpoint_ = endpoint;
}

void EventSubscriberCore::hub_lost(const char* why, Clock::time_point now) {
  log(LogLevel::info, "pseud: event hub at ", endpoint_, " lost (", why, "); subscribing again");
  counters_.resubscribed.fetch_add(1);
  admitted_ = false;
  in_background_ = true;
  awaiting_welcome_ = false;
  socket_.reset();  // a fresh connection: the hub knows this one no more
  want_subscription_ = true;
  retry_at_ = now;
}

void EventSubscriberCore::finish_waiters(std::exception_ptr error) {
  for (auto& waiter : waiters_) {
    if (error) {
      waiter->set_exception(error);
    } else {
      waiter->set_value();
    }
  }
  waiters_.clear();
}

void EventSubscriberCore::drain_socket(Clock::time_point now) {
  std::vector<zmq::message_t> frames;
  // Stopping leaves what is still queued unread: the hub gives it to another member.
  for (int read = 0; read < read_budget && socket_ && !stopping_.load(); ++read) {
    frames.clear();
    zmq::message_t frame;
    if (!socket_->recv(frame, zmq::recv_flags::dontwait)) return;
    frames.push_back(std::move(frame));
    while (frames.back().more() && frames.size() < 4) {
      zmq::message_t next;
      (void)socket_->recv(next);
      frames.push_back(std::move(next));
    }
    while (frames.back().more()) {  // more frames than any message has
      zmq::message_t extra;
      (void)socket_->recv(extra);
      frames.back() = std::move(extra);
    }
    last_heard_ = now;
    const std::string_view kind = view_of(frames[0]);
    if (kind == events_wire::evt && frames.size() == 3) {
      if (admitted_) on_event(std::string(view_of(frames[1])), view_of(frames[2]));
    } else if (kind == events_wire::welcome) {
      awaiting_welcome_ = false;
      admitted_ = true;
      in_background_ = false;
      next_ping_ = now + options_.ping_interval;
      finish_waiters(nullptr);
    } else if (kind == events_wire::denied) {
      awaiting_welcome_ = false;
      const std::string why = frames.size() > 1 ? std::string(view_of(frames[1])) : std::string("no reason given");
      if (in_background_) log(LogLevel::warning, "pseud: the event hub refused to subscribe again: ", why);
      in_background_ = false;
      finish_waiters(std::make_exception_ptr(RemoteError("SubscriptionRefused", why)));
    } else if (kind == events_wire::unknown) {
      if (admitted_) hub_lost("it no longer knows this subscriber", now);
      return;  // the socket is gone
    }
    // PONG, and anything else: only a sign of life.
  }
}

void EventSubscriberCore::on_event(const std::string& group, std::string_view packed) {
  auto fields = events_wire::decode_event(packed);
  if (!fields) {
    log(LogLevel::warning, "pseud: event subscriber dropped a malformed event");
    return;
  }
  const std::string key = fields->id + '|' + group;
  if (seen_.contains(key)) {
    counters_.duplicates.fetch_add(1);
    if (!group.empty()) answer(events_wire::ack, fields->id, group, {});
    return;
  }
  counters_.received.fetch_add(1);
  const std::shared_ptr<const Locals> handlers = locals();
  const Event event{fields->id, fields->type, fields->source, std::move(fields->headers), std::move(fields->body)};
  bool ran = false;
  std::string failure;
  for (const Local& local : *handlers) {
    if (local.group != group || !local.pattern.matches(event.type)) continue;
    ran = true;
    try {
      local.handler(event);
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "a non-std exception";
    }
  }
  if (!failure.empty()) {
    counters_.handler_errors.fetch_add(1);
    log(LogLevel::warning, "pseud: event handler for '", event.type, "' threw: ", failure);
  } else if (ran) {
    counters_.handled.fetch_add(1);
  }
  if (group.empty()) {
    seen_.remember(key);
    return;
  }
  if (!ran) failure = "no handler here for this event any more";
  if (failure.empty()) {
    seen_.remember(key);  // after the handler: a retry of a failed one runs it again
    answer(events_wire::ack, event.id, group, {});
  } else {
    answer(events_wire::nack, event.id, group, failure.substr(0, 1024));
  }
}

void EventSubscriberCore::answer(std::string_view kind, const std::string& event_id, const std::string& group,
                                 std::string_view why) {
  const bool refused = kind == events_wire::nack;
  const WireBuffer body = events_wire::encode_ack({event_id, group, std::string(why)}, refused);
  send(kind, std::string_view(body.data(), body.size()));
}

void EventSubscriberCore::send(std::string_view kind, std::string_view body) {
  if (!socket_) return;
  try {
    zmq::message_t kind_frame(kind.data(), kind.size());
    if (body.empty()) {
      (void)socket_->send(kind_frame, zmq::send_flags::dontwait);
      return;
    }
    zmq::message_t body_frame(body.data(), body.size());
    if (socket_->send(kind_frame, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      (void)socket_->send(body_frame, zmq::send_flags::none);
    }
  } catch (const zmq::error_t& e) {
    log(LogLevel::warning, "pseud: event subscriber could not send ", kind, ": ", e.what());
  }
}

}  // namespace pseud::detail
