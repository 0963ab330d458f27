// Layer 4 (engine): everything that arrives on the ROUTER socket. Every
// frame set is hostile until proven otherwise: nothing here may throw out
// of the engine loop, block, or allocate from a size a peer declared.

#include <zmq.h>

#include "engine/engine.hpp"
#include "engine/engine_util.hpp"
#include "sanitizers/libzmq_handoff.hpp"
#include "log.hpp"
#include "values/exception_mapping.hpp"
#include "wire/msgpack_count.hpp"

namespace pseud::detail {

namespace {

// Messages handled per turn before timers, heartbeats and commands get
// theirs, and the time a turn may take: a peer sending slow messages must not
// hold the engine long enough for honest peers to think it gone.
constexpr int receive_budget = 256;
constexpr auto receive_time_budget = std::chrono::milliseconds(2);

std::string_view view(const zmq::message_t& frame) noexcept {
  return {static_cast<const char*>(frame.data()), frame.size()};
}

// A job for the worker pool: the request's zone travels with it.
struct BlockingJob {
  msgpack::object_handle body;
  wire::WorkBody work;
  Caller caller;
  std::shared_ptr<const Route> route;
  std::string id;
  std::chrono::steady_clock::time_point received;
  std::shared_ptr<RequestBudget::Ticket> ticket;  // its share of the caller's budget, until it ran
  RequestHold hold;  // the request, until its reply is sent (a graceful stop waits for it)
  IncomingSpan span;  // for the observer: ends with the answer, or abandoned with the job
};

// Bodies this large are decoded off the engine thread.
constexpr std::size_t offload_threshold = 64 * 1024;
// What a queued request costs beyond its values (the job, its strings).
constexpr std::size_t work_overhead = 512;

// Memory the decoded values of `value` take beyond the body's own bytes:
// one msgpack::object each (strings and binaries are copied once, as in the body).
std::size_t decoded_size(const msgpack::object& value) {
  std::size_t size = sizeof(msgpack::object);
  if (value.type == msgpack::type::ARRAY) {
    for (std::uint32_t i = 0; i < value.via.array.size; ++i) size += decoded_size(value.via.array.ptr[i]);
  } else if (value.type == msgpack::type::MAP) {
    for (std::uint32_t i = 0; i < value.via.map.size; ++i) {
      size += decoded_size(value.via.map.ptr[i].key) + decoded_size(value.via.map.ptr[i].val);
    }
  }
  return size;
}

}  // namespace

std::string printable(std::string_view bytes) {
  std::string out;
  for (const char c : bytes.substr(0, 64)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    }
  }
  return out;
}

void Engine::drain_router() {
  router_unread_ = true;  // unless the socket runs dry within the budget
  const auto turn_ends = Clock::now() + receive_time_budget;
  for (int handled = 0; handled < receive_budget; ++handled) {
    if (handled > 0 && (stop_requested_.load(std::memory_order_relaxed) || Clock::now() >= turn_ends)) return;
    std::size_t count = 0;
    std::size_t total = 0;
    if (!receive_frames(count, total)) {
      // A receive that would block has processed the socket's commands: from
      // here on, every new message signals the router's fd.
      router_unread_ = false;
      router_touched_ = false;
      return;
    }
    try {
      handle_frames(count, total);
    } catch (const std::exception& e) {
      log(LogLevel::error, "pseud: dropped a message whose handling failed: ", e.what());
    }
  }
}

void Engine::answer_req(std::size_t count, const zmq::message_t& last, std::string_view sender,
                        std::string_view why) {
  // A REQ socket stays blocked until it is answered: it gets exactly one
  // reply, malformed or not. Its frames follow the empty delimiter it adds;
  // only a pseud-shaped request has an id to echo.
  const char* socket_type = zmq_msg_gets(const_cast<zmq::message_t&>(last).handle(), "Socket-Type");
  if (!socket_type || std::string_view(socket_type) != "REQ" || count < 3 || frames_[1].size() != 0) return;
  const std::string_view id =
      count == 6 && frames_[3].size() <= wire::max_id_size ? view(frames_[3]) : std::string_view{};
  send_error(sender, id, "ValueError", "malformed message: " + std::string(why));
}

bool Engine::receive_frames(std::size_t& count, std::size_t& total) {
  if (zmq_msg_recv(frames_[0].handle(), router_.handle(), ZMQ_DONTWAIT) < 0) return false;
  after_libzmq_receive();
  count = 1;
  total = frames_[0].size();
  zmq::message_t* last = &frames_[0];
  // Frames past the sixth are read into one scratch message and counted, so a
  // 10 000-frame message costs no more memory than a 7-frame one.
  while (last->more()) {
    zmq::message_t& next = count < frames_.size() ? frames_[count] : overflow_frame_;
    if (zmq_msg_recv(next.handle(), router_.handle(), 0) < 0) break;
    ++count;
    total += next.size();
    last = &next;
  }
  return true;
}

void Engine::handle_frames(std::size_t count, std::size_t total) {
  const std::string_view sender = view(frames_[0]);
  // Only received frames carry their descriptor (the router makes up frame 0).
  zmq::message_t& last = count <= frames_.size() ? frames_[count - 1] : overflow_frame_;
  current_fd_ = zmq_msg_get(last.handle(), ZMQ_SRCFD);
  if (current_fd_ >= 0 && role_ == PeerRole::server) connections_.spoke(current_fd_);
  if (!malformed_.empty() && comes_from_cut_connection(sender)) return;
  if (role_ == PeerRole::client && current_fd_ >= 0 && current_fd_ != verified_fd_ && !from_verified_connection()) {
    return;  // our own message, come back over a connection to ourselves
  }
  if (count > frames_.size()) {
    note_malformed();
    log(LogLevel::warning, "pseud: dropped a ", count, "-frame message from '", printable(sender),
        "': wrong frame count (expected 2 or 6)");
    answer_req(count, last, sender, wire::frame_error_text(wire::FrameError::frame_count));
    return;
  }
  std::array<std::string_view, 6> views;
  for (std::size_t i = 0; i < count; ++i) views[i] = view(frames_[i]);
  if (total > options_.max_message_size) {
    counters_.oversize_messages.fetch_add(1, std::memory_order_relaxed);
    log(LogLevel::warning, "pseud: refused a ", total, "-byte message from '", printable(sender),
        "' (limit ", options_.max_message_size, ")");
    auto decoded = wire::decode_frames(std::span(views.data(), count));
    const auto* envelope = std::get_if<wire::Envelope>(&decoded);
    if (envelope && envelope->form == wire::Form::router && envelope->message.type == wire::MessageType::work) {
      send_error(sender, envelope->message.id, "ValueError",
                 "message of " + std::to_string(total) + " bytes exceeds the limit of " +
                     std::to_string(options_.max_message_size) + " bytes");
    }
    return;
  }
  auto decoded = wire::decode_frames(std::span(views.data(), count));
  const auto* envelope = std::get_if<wire::Envelope>(&decoded);
  if (!envelope || envelope->form == wire::Form::req) {
    // On a ROUTER socket frame 0 is always the sender, so the REQ form cannot occur.
    const auto error = envelope ? wire::FrameError::frame_count : std::get<wire::FrameError>(decoded);
    note_malformed();
    log(LogLevel::warning, "pseud: dropped a ", count, "-frame message from '", printable(sender),
        "': ", wire::frame_error_text(error));
    answer_req(count, last, sender, wire::frame_error_text(error));
    return;
  }
  const wire::Envelope& message = *envelope;
  const char* zap_user = zmq_msg_gets(last.handle(), "User-Id");
  Connection from{message.routing_id, zap_user ? std::string_view(zap_user) : std::string_view{}};
  const wire::MessageType type = message.message.type;
  if (!auth_->is_authenticated(from)) {
    if (message.form == wire::Form::probe) return;
    // Only here: a metadata lookup per message is not free, and only the unauthenticated need it.
    const char* address = zmq_msg_gets(last.handle(), "Peer-Address");
    from.peer_address = address ? std::string_view(address) : std::string_view{};
    note_unauthenticated(message.routing_id);
    if (type == wire::MessageType::hello) {
      auth_->handle_hello(*this, from, message.message.id, message.message.body);
    } else {
      // pseud answers an unauthenticated HEARTBEAT with an empty id.
      auth_->handle_unauthenticated(*this, from, type == wire::MessageType::heartbeat ? "" : message.message.id);
    }
    return;
  }
  const std::string user = auth_->user_of(from);
  const PeerTable::Peer* known = peers_.find(message.routing_id);
  if (known && known->state.user_id != user) {
    // Only possible if a routing id changed hands: never let a second user speak for the first.
    note_malformed();
    log(LogLevel::warning, "pseud: dropped a message from '", printable(message.routing_id), "' as user '",
        printable(user), "': that routing id belongs to user '", printable(known->state.user_id), "'");
    return;
  }
  if (!user.empty()) bind_user(user, message.routing_id);
  bool is_req = false;
  if (!known) {
    const char* socket_type = zmq_msg_gets(last.handle(), "Socket-Type");
    is_req = socket_type && std::string_view(socket_type) == "REQ";
  }
  note_peer(message.routing_id, user, current_fd_, type == wire::MessageType::heartbeat, is_req);
  if (role_ == PeerRole::client) {
    // The server's own routing id ("name@instance"), which the alias of connect_router() hides.
    if (PeerTable::Peer* server = peers_.find(message.routing_id); server && !server->announced) {
      const char* announced = zmq_msg_gets(last.handle(), "Identity");
      peers_.announce(*server, announced ? std::string_view(announced) : std::string_view{});
    }
  }
  if (message.form == wire::Form::probe) return;  // a connecting peer's greeting: nothing to answer
  switch (type) {
    case wire::MessageType::work:
      handle_work(message, user);
      return;
    case wire::MessageType::ok:
    case wire::MessageType::error:
    case wire::MessageType::unauthorized:
    case wire::MessageType::authenticated:
      handle_reply(message, user);
      return;
    case wire::MessageType::heartbeat:
      return;  // already counted as a sign of life
    case wire::MessageType::hello:
      log(LogLevel::debug, "pseud: ignored HELLO from '", printable(message.routing_id),
          "': it is already authenticated");
      return;
  }
}

void Engine::handle_work(const wire::Envelope& envelope, const std::string& user) {
  const std::string_view rid = envelope.routing_id;
  const std::string_view id = envelope.message.id;
  if (envelope.message.body.size() >= offload_threshold && envelope.message.body.data() == frames_[5].data()) {
    offload_work(rid, id, user);
    return;
  }
  auto unpacked = wire::unpack_body(envelope.message.body);
  if (auto* error = std::get_if<wire::BodyError>(&unpacked)) {
    refuse_undecodable(rid, id, *error);
    return;
  }
  dispatch_work(rid, id, user, std::move(std::get<msgpack::object_handle>(unpacked)), envelope.message.body.size(),
                nullptr);
}

void Engine::refuse_undecodable(std::string_view rid, std::string_view id, wire::BodyError error) {
  note_malformed();
  log(LogLevel::warning, "pseud: undecodable WORK from '", printable(rid), "': ", wire::body_error_text(error));
  send_error(rid, id, "ValueError", "undecodable WORK body: " + std::string(wire::body_error_text(error)));
}

std::shared_ptr<RequestBudget::Ticket> Engine::admit(std::string_view rid, std::string_view id, std::size_t bytes) {
  std::string why;
  auto ticket = budget_.admit(rid, bytes, why);
  if (ticket) return ticket;
  counters_.overloaded_requests.fetch_add(1, std::memory_order_relaxed);
  log(LogLevel::info, "pseud: refused a request from '", printable(rid), "': ", why);
  send_error(rid, id, std::string(overloaded_error_name), why + "; nothing was run, try again later");
  return nullptr;
}

void Engine::offload_work(std::string_view rid, std::string_view id, const std::string& user) {
  // Decoding a large body can take longer than a heartbeat interval (a 4 MiB
  // array of small integers is 4 million objects): it happens on the decode
  // thread, and the engine goes on with other peers. What waits there is
  // bounded by the request budget, which refuses at once, unread, a body
  // that does not fit: a flood of them costs the engine next to nothing.
  if (refuse_while_stopping(rid, id, {})) return;  // the name is unread yet: no health check is this large
  auto ticket = admit(rid, id, frames_[5].size());
  if (!ticket) return;
  auto body = std::make_shared<zmq::message_t>(std::move(frames_[5]));
  auto job = [this, body, ticket, hold = in_flight_->hold(), rid = std::string(rid), id = std::string(id),
              user]() mutable {
    // Weighed before it is decoded: values take one msgpack::object each, and
    // the strings are copied once more.
    const std::string_view bytes(body->data<char>(), body->size());
    const auto objects = wire::count_msgpack_objects(bytes);
    const bool fits = !objects || ticket->grow_to(2 * bytes.size() + *objects * sizeof(msgpack::object));
    auto unpacked = fits ? wire::unpack_body(bytes) : decltype(wire::unpack_body(bytes)){wire::BodyError::empty};
    body.reset();  // the decoded values own copies of their bytes
    auto result = std::make_shared<decltype(unpacked)>(std::move(unpacked));
    auto next = [this, result, ticket, hold, rid, id, user, fits]() mutable {
      current_fd_ = -1;  // no longer the message just read: nothing to count against a descriptor
      if (!fits) {
        counters_.overloaded_requests.fetch_add(1, std::memory_order_relaxed);
        return send_error(rid, id, std::string(overloaded_error_name),
                          "this request's decoded values would take this caller over its memory limit; nothing "
                          "was run");
      }
      if (auto* error = std::get_if<wire::BodyError>(result.get())) return refuse_undecodable(rid, id, *error);
      dispatch_work(rid, id, user, std::move(std::get<msgpack::object_handle>(*result)), 0, std::move(ticket));
    };
    if (!queue_.push(TaskCommand{std::move(next)})) return;  // stopped meanwhile
  };
  (void)decode_pool_.post(std::move(job));  // refused only when stopping: nothing more is decoded
}

void Engine::dispatch_work(std::string_view rid, std::string_view id, const std::string& user,
                           msgpack::object_handle handle, std::size_t body_size,
                           std::shared_ptr<RequestBudget::Ticket> ticket) {
  auto decoded = wire::decode_work(handle.get());
  if (auto* rejection = std::get_if<wire::WorkRejection>(&decoded)) {
    note_malformed();
    log(LogLevel::info, "pseud: refused WORK from '", printable(rid), "': ", rejection->message);
    send_error(rid, id, rejection->class_name, rejection->message);
    return;
  }
  const wire::WorkBody& work = std::get<wire::WorkBody>(decoded);
  const auto received = Clock::now();
  if (!ticket && refuse_while_stopping(rid, id, work.name)) {
    observe_refusal(work.name, rid, user, received, unavailable_error_name);
    return;
  }

  Caller caller{std::string(rid), user, {}};
  try {
    caller.predicate_args =
        options_.predicate_arguments ? options_.predicate_arguments(caller) : auth_->predicate_arguments(caller);
  } catch (const std::exception& e) {
    log(LogLevel::error, "pseud: computing predicate arguments threw: ", e.what(), "; refusing the call");
    observe_refusal(work.name, rid, user, received, "ServiceNotFoundError");
    send_error(rid, id, "ServiceNotFoundError", work.name);
    return;
  }
  std::shared_ptr<const Route> route;
  try {
    route = registry_.lookup(work.name, caller.predicate_args);
  } catch (const std::exception& e) {
    log(LogLevel::error, "pseud: a domain predicate threw for '", work.name, "': ", e.what());
  }
  if (!route) {
    observe_refusal(work.name, rid, user, received, "ServiceNotFoundError");
    send_error(rid, id, "ServiceNotFoundError", work.name);
    return;
  }
  IncomingSpan span;
  if (observer_->watching()) {
    span = IncomingSpan(observer_, work.name, caller, received);
    if (const std::exception_ptr refusal = span.start()) {
      const RefusalReply reply = refusal_reply(refusal, work.name);
      span.ended(CallOutcome::refused, reply.name);
      send_error(rid, id, reply.name, reply.message);
      return;
    }
  }
  if (route->blocking && pool_.size() > 0) {
    // Queued behind slow handlers, a request holds its values until a worker
    // is free: each counts against its caller's share.
    if (!ticket) ticket = admit(rid, id, body_size + decoded_size(handle.get()) + work_overhead);
    if (!ticket) {
      span.ended(CallOutcome::refused, overloaded_error_name);
      return;
    }
    auto job = std::make_shared<BlockingJob>(BlockingJob{std::move(handle), work, std::move(caller), std::move(route),
                                                         std::string(id), received, std::move(ticket),
                                                         in_flight_->hold(), std::move(span)});
    const bool queued = pool_.post([this, job] {
      wire::MessageType type;
      pseud::detail::WireBuffer body;
      job->span.handler_started();
      const bool by_channel =
          run_handler(job->route, job->work, job->caller, job->id, job->received, job->span, type, body);
      job->ticket.reset();
      if (by_channel) return;
      job->span.answered(type, {body.data(), body.size()});
      ReplyCommand reply{job->caller.routing_id, job->id, type, std::move(body), job->received, std::move(job->hold)};
      if (!try_direct_reply(reply)) queue_.push(std::move(reply));
    });
    (void)queued;  // not queued: stopping, and the request goes with the pool's queue
    return;
  }
  // Non-blocking handlers (and blocking ones without worker threads) run here.
  wire::MessageType type;
  pseud::detail::WireBuffer body;
  span.handler_started();
  const auto started = Clock::now();
  const bool by_channel = run_handler(route, work, caller, id, received, span, type, body);
  const auto finished = Clock::now();
  if (finished - started > options_.slow_handler_warning && options_.slow_handler_warning.count() > 0) {
    log(LogLevel::warning, "pseud: ", in_quotes(printable(work.name)), " held the engine thread for ",
        std::chrono::duration_cast<std::chrono::milliseconds>(finished - started).count(),
        " ms, and no other caller was served meanwhile: register it with RpcOptions::blocking = true to run it on "
        "a worker thread (PeerOptions::slow_handler_warning is ",
        options_.slow_handler_warning.count(), " ms)");
  }
  if (by_channel) return;
  span.answered(type, {body.data(), body.size()}, finished);
  send_handler_reply(rid, id, type, std::move(body), received);
}

void Engine::observe_refusal(std::string_view function, std::string_view rid, const std::string& user,
                             Clock::time_point received, std::string_view error_name) {
  if (!observer_->watching()) return;
  observer_->refused(CallInfo{CallDirection::incoming, function, rid, user, received, std::nullopt}, error_name);
}

namespace {

// Opens the ReplyChannel of one call, at most once, and keeps its state for
// the engine to tell it how the handler ended.
class ChannelOpener final : public ReplyOpener {
 public:
  ChannelOpener(ReplySink& sink, InFlightRequests& in_flight, const std::shared_ptr<const Route>& route,
                const Caller& caller, std::string_view id, std::chrono::steady_clock::time_point received,
                IncomingSpan& span) noexcept
      : sink_(sink), in_flight_(in_flight), route_(route), caller_(caller), id_(id), received_(received), span_(span) {}
  ReplyChannel open() override {
    if (state_) throw UsageError("a call has one ReplyChannel");
    // The channel answers, so the call's span goes with it.
    state_ = sink_.open(route_, caller_, std::string(id_), received_, in_flight_.hold(), std::move(span_));
    return ReplyChannel(state_);
  }
  const std::shared_ptr<ReplyState>& state() const noexcept { return state_; }

 private:
  ReplySink& sink_;
  InFlightRequests& in_flight_;
  const std::shared_ptr<const Route>& route_;
  const Caller& caller_;
  std::string_view id_;
  std::chrono::steady_clock::time_point received_;
  IncomingSpan& span_;
  std::shared_ptr<ReplyState> state_;
};

}  // namespace

bool Engine::run_handler(const std::shared_ptr<const Route>& route, const wire::WorkBody& work, const Caller& caller,
                         std::string_view id, Clock::time_point received, IncomingSpan& span,
                         wire::MessageType& type, pseud::detail::WireBuffer& body) const {
  Packer packer(body);
  ChannelOpener opener(*reply_sink_, *in_flight_, route, caller, id, received, span);
  const Invocation call{work, &caller, &opener};
  std::exception_ptr raised;
  try {
    route->handler(call, packer);
    type = wire::MessageType::ok;
  } catch (...) {
    raised = std::current_exception();
    body.clear();
    handler_errors_->encode(*route, caller, raised, body);
    type = wire::MessageType::error;
  }
  if (!opener.state()) return false;
  // The channel answers: with the handler's exception if it raised one first.
  opener.state()->handler_returned(raised ? &body : nullptr);
  return true;
}

void Engine::handle_auth_reply(const wire::Envelope& envelope, const MessageId& id) {
  const std::string_view text = envelope.message.body;
  try {
    if (envelope.message.type == wire::MessageType::authenticated) {
      auth_->handle_authenticated(*this, envelope.routing_id, envelope.message.id, text);
    } else if (!auth_->handle_unauthorized(*this, envelope.routing_id, envelope.message.id, text)) {
      complete(id, nullptr, failure<UnauthorizedError>(std::string(text)));
    }
  } catch (const std::exception& e) {
    log(LogLevel::error, "pseud: the authentication backend failed on a reply: ", e.what());
    complete(id, nullptr, failure<UnauthorizedError>(std::string(text)));
  }
}

void Engine::handle_reply(const wire::Envelope& envelope, const std::string& user) {
  const auto id = MessageId::from(envelope.message.id);
  const PendingCall* found = id ? calls_.find(*id) : nullptr;
  if (!found) {
    counters_.dropped_replies.fetch_add(1, std::memory_order_relaxed);
    log(LogLevel::debug, "pseud: dropped a ", wire::message_type_name(envelope.message.type), " from '",
        printable(envelope.routing_id), "' for no waiting call (late, duplicate or unsolicited)");
    return;
  }
  const PendingCall& call = *found;
  // A reply counts only from the routing id, User-Id and (on a server) the
  // connection the WORK went to: see address().
  const bool other_connection = call.fd >= 0 && current_fd_ >= 0 && call.fd != current_fd_;
  if (call.routing_id != envelope.routing_id || call.parked_body || call.user != user || other_connection) {
    counters_.dropped_replies.fetch_add(1, std::memory_order_relaxed);
    counters_.misdirected_replies.fetch_add(1, std::memory_order_relaxed);
    const auto who = [](std::string_view routing_id, std::string_view as) {
      return in_quotes(printable(routing_id)) + (as.empty() ? std::string() : " (user " + in_quotes(printable(as)) + ")");
    };
    log(LogLevel::warning, "pseud: dropped a reply for a call to ", who(call.routing_id, call.user), " that came from ",
        who(envelope.routing_id, user), (other_connection ? " on another connection" : ""));
    return;
  }
  if (envelope.message.type == wire::MessageType::unauthorized ||
      envelope.message.type == wire::MessageType::authenticated) {
    handle_auth_reply(envelope, *id);
    return;
  }
  counters_.replies_received.fetch_add(1, std::memory_order_relaxed);
  auto unpacked = wire::unpack_body(envelope.message.body);
  if (auto* error = std::get_if<wire::BodyError>(&unpacked)) {
    note_malformed();
    complete(*id, nullptr, failure<ProtocolError>(
                               "undecodable " + std::string(wire::message_type_name(envelope.message.type)) +
                               " reply: " + std::string(wire::body_error_text(*error))));
    return;
  }
  msgpack::object_handle& reply = std::get<msgpack::object_handle>(unpacked);
  if (envelope.message.type == wire::MessageType::ok) {
    complete_outside_lock(*id, &reply, nullptr);
    return;
  }
  auto error = wire::decode_error(reply.get());
  if (!error) {
    note_malformed();
    complete(*id, nullptr, failure<ProtocolError>("malformed ERROR reply: expected three strings"));
    return;
  }
  complete_outside_lock(*id, nullptr, remote_exception(std::move(*error)));
}

}  // namespace pseud::detail
