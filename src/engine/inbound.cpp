// Layer 4 (engine): everything that arrives on the ROUTER socket. Every
// frame set is hostile until proven otherwise: nothing here may throw out
// of the engine loop, block, or allocate from a size a peer declared.

#include <zmq.h>

#include "engine/engine.hpp"
#include "log.hpp"
#include "values/exception_mapping.hpp"

namespace pseud::detail {

namespace {

// Messages handled per wake-up before timers and commands get a turn.
constexpr int receive_budget = 256;

std::string_view view(const zmq::message_t& frame) noexcept {
  return {static_cast<const char*>(frame.data()), frame.size()};
}

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

// A job for the worker pool: the request's zone travels with it.
struct BlockingJob {
  msgpack::object_handle body;
  wire::WorkBody work;
  Caller caller;
  std::shared_ptr<const Route> route;
  std::string id;
};

}  // namespace

void Engine::drain_router() {
  for (int handled = 0; handled < receive_budget; ++handled) {
    std::size_t count = 0;
    std::size_t total = 0;
    if (!receive_frames(count, total)) return;
    try {
      handle_frames(count, total);
    } catch (const std::exception& e) {
      log(LogLevel::error, "pseud: dropped a message whose handling failed: ", e.what());
    }
  }
}

bool Engine::receive_frames(std::size_t& count, std::size_t& total) {
  if (zmq_msg_recv(frames_[0].handle(), router_.handle(), ZMQ_DONTWAIT) < 0) return false;
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
  if (count > frames_.size()) {
    counters_.malformed_messages.fetch_add(1, std::memory_order_relaxed);
    log(LogLevel::warning, "pseud: dropped a ", count, "-frame message from '", printable(sender),
        "': wrong frame count (expected 2 or 6)");
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
    counters_.malformed_messages.fetch_add(1, std::memory_order_relaxed);
    log(LogLevel::warning, "pseud: dropped a ", count, "-frame message from '", printable(sender),
        "': ", wire::frame_error_text(error));
    // A REQ peer stays blocked until it is answered: answer it even so.
    const char* socket_type = zmq_msg_gets(frames_[count - 1].handle(), "Socket-Type");
    if (count == 6 && socket_type && std::string_view(socket_type) == "REQ" && views[1].empty() &&
        views[3].size() <= wire::max_id_size) {
      send_error(sender, views[3], "ValueError", std::string("malformed message: ") +
                                                    std::string(wire::frame_error_text(error)));
    }
    return;
  }
  const char* user_id = zmq_msg_gets(frames_[count - 1].handle(), "User-Id");
  learn_peer(envelope->routing_id, user_id ? std::string_view(user_id) : std::string_view{});
  if (envelope->form == wire::Form::probe) return;  // a connecting peer's greeting: nothing to answer
  switch (envelope->message.type) {
    case wire::MessageType::work:
      handle_work(*envelope, user_id ? user_id : "");
      return;
    case wire::MessageType::ok:
    case wire::MessageType::error:
    case wire::MessageType::unauthorized:
      handle_reply(*envelope);
      return;
    case wire::MessageType::heartbeat:
      return;  // liveness is the heartbeat backend's business; any message counts
    case wire::MessageType::hello:
    case wire::MessageType::authenticated:
      log(LogLevel::debug, "pseud: ignored ", wire::message_type_name(envelope->message.type), " from '",
          printable(envelope->routing_id), "': no authentication backend expects it");
      return;
  }
}

void Engine::learn_peer(std::string_view routing_id, std::string_view user_id) {
  if (routing_id.empty() || user_id.empty()) return;
  auto it = user_routes_.find(user_id);
  if (it == user_routes_.end()) {
    user_routes_.emplace(std::string(user_id), std::string(routing_id));
  } else if (it->second != routing_id) {
    it->second.assign(routing_id);
  }
}

void Engine::handle_work(const wire::Envelope& envelope, std::string_view user_id) {
  const std::string_view rid = envelope.routing_id;
  const std::string_view id = envelope.message.id;
  auto unpacked = wire::unpack_body(envelope.message.body);
  if (auto* error = std::get_if<wire::BodyError>(&unpacked)) {
    counters_.malformed_messages.fetch_add(1, std::memory_order_relaxed);
    log(LogLevel::warning, "pseud: undecodable WORK from '", printable(rid), "': ", wire::body_error_text(*error));
    send_error(rid, id, "ValueError", "undecodable WORK body: " + std::string(wire::body_error_text(*error)));
    return;
  }
  auto handle = std::move(std::get<msgpack::object_handle>(unpacked));
  auto decoded = wire::decode_work(handle.get());
  if (auto* rejection = std::get_if<wire::WorkRejection>(&decoded)) {
    counters_.malformed_messages.fetch_add(1, std::memory_order_relaxed);
    log(LogLevel::info, "pseud: refused WORK from '", printable(rid), "': ", rejection->message);
    send_error(rid, id, rejection->class_name, rejection->message);
    return;
  }
  const wire::WorkBody& work = std::get<wire::WorkBody>(decoded);

  Caller caller{std::string(rid), std::string(user_id), {}};
  if (options_.predicate_arguments) {
    try {
      caller.predicate_args = options_.predicate_arguments(caller);
    } catch (const std::exception& e) {
      log(LogLevel::error, "pseud: predicate_arguments hook threw: ", e.what(), "; refusing the call");
      send_error(rid, id, "ServiceNotFoundError", work.name);
      return;
    }
  } else {
    caller.predicate_args.user_id = caller.user_id;
  }
  std::shared_ptr<const Route> route;
  try {
    route = registry_.lookup(work.name, caller.predicate_args);
  } catch (const std::exception& e) {
    log(LogLevel::error, "pseud: a domain predicate threw for '", work.name, "': ", e.what());
  }
  if (!route) {
    send_error(rid, id, "ServiceNotFoundError", work.name);
    return;
  }
  if (route->blocking) {
    auto job = std::make_shared<BlockingJob>(
        BlockingJob{std::move(handle), work, std::move(caller), std::move(route), std::string(id)});
    const bool queued = pool_.post([this, job] {
      wire::MessageType type;
      msgpack::sbuffer body;
      run_handler(job->route, job->work, job->caller, type, body);
      queue_.push(ReplyCommand{job->caller.routing_id, job->id, type, std::move(body)});
    });
    if (queued) return;
    // No worker threads (worker_threads = 0): run it here rather than refuse it.
    wire::MessageType type;
    msgpack::sbuffer body;
    run_handler(job->route, job->work, job->caller, type, body);
    send_reply(rid, id, type, std::move(body));
    return;
  }
  wire::MessageType type;
  msgpack::sbuffer body;
  run_handler(route, work, caller, type, body);
  send_reply(rid, id, type, std::move(body));
}

void Engine::run_handler(std::shared_ptr<const Route> route, const wire::WorkBody& work, const Caller& caller,
                         wire::MessageType& type, msgpack::sbuffer& body) const {
  Packer packer(body);
  const Invocation call{route->name, work.args, work.arg_count, work.kwargs, work.kwarg_count, &caller};
  try {
    route->handler(call, packer);
    type = wire::MessageType::ok;
    return;
  } catch (...) {
    wire::ErrorBody error = describe_exception(std::current_exception());
    if (error.name.empty()) error.name = "Exception";
    log(LogLevel::debug, "pseud: '", route->name, "' raised ", error.name, ": ", error.message);
    body.clear();
    wire::encode_error(body, error.name, error.message, options_.send_tracebacks ? error.traceback : "");
    type = wire::MessageType::error;
  }
}

void Engine::handle_reply(const wire::Envelope& envelope) {
  const auto id = MessageId::from(envelope.message.id);
  auto it = id ? pending_.find(*id) : pending_.end();
  if (it == pending_.end()) {
    counters_.dropped_replies.fetch_add(1, std::memory_order_relaxed);
    log(LogLevel::debug, "pseud: dropped a ", wire::message_type_name(envelope.message.type), " from '",
        printable(envelope.routing_id), "' for no waiting call (late, duplicate or unsolicited)");
    return;
  }
  if (it->second.routing_id != envelope.routing_id || it->second.parked_body) {
    counters_.dropped_replies.fetch_add(1, std::memory_order_relaxed);
    log(LogLevel::warning, "pseud: dropped a reply for a call to '", printable(it->second.routing_id),
        "' that came from '", printable(envelope.routing_id), "'");
    return;
  }
  counters_.replies_received.fetch_add(1, std::memory_order_relaxed);
  if (envelope.message.type == wire::MessageType::unauthorized) {
    complete(*id, nullptr, std::make_exception_ptr(UnauthorizedError(std::string(envelope.message.body))));
    return;
  }
  auto unpacked = wire::unpack_body(envelope.message.body);
  if (auto* error = std::get_if<wire::BodyError>(&unpacked)) {
    counters_.malformed_messages.fetch_add(1, std::memory_order_relaxed);
    complete(*id, nullptr, std::make_exception_ptr(ProtocolError(
                               "undecodable " + std::string(wire::message_type_name(envelope.message.type)) +
                               " reply: " + std::string(wire::body_error_text(*error)))));
    return;
  }
  const msgpack::object& value = std::get<msgpack::object_handle>(unpacked).get();
  if (envelope.message.type == wire::MessageType::ok) {
    complete(*id, &value, nullptr);
    return;
  }
  auto error = wire::decode_error(value);
  if (!error) {
    counters_.malformed_messages.fetch_add(1, std::memory_order_relaxed);
    complete(*id, nullptr, std::make_exception_ptr(ProtocolError("malformed ERROR reply: expected three strings")));
    return;
  }
  complete(*id, nullptr, remote_exception(std::move(*error)));
}

}  // namespace pseud::detail
