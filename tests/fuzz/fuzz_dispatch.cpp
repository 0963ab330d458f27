// Target "dispatch": the input is a WORK body, handled as Engine::handle_work
// handles one (src/engine/inbound.cpp), minus the socket: unpack, decode,
// look up in a real Registry (a peer's local one over a "process-wide" one)
// with domain predicates, bind the arguments, run the handler, map its
// exception to an ERROR, frame the reply. It runs once for an anonymous
// caller and once for an authenticated user with the "admin" permission.

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "body_checks.hpp"
#include "dispatch_functions.hpp"
#include "fuzz_input.hpp"
#include "fuzz_targets.hpp"
#include "pseud/registry.hpp"
#include "values/exception_mapping.hpp"
#include "wire/bodies.hpp"
#include "wire/frames.hpp"

namespace pseud::fuzz {

namespace {

struct Reply {
  wire::MessageType type = wire::MessageType::error;
  std::string body;
};

Reply error_reply(std::string_view name, std::string_view message) {
  msgpack::sbuffer buffer;
  wire::encode_error(buffer, name, message, "");  // tracebacks are off by default
  return {wire::MessageType::error, std::string(buffer.data(), buffer.size())};
}

// Engine::run_handler without the engine.
Reply run_handler(const Route& route, const wire::WorkBody& work, const Caller& caller) {
  pseud::detail::WireBuffer body;
  detail::Packer packer(body);
  const detail::Invocation call{work, &caller};
  try {
    route.handler(call, packer);
    return {wire::MessageType::ok, std::string(body.data(), body.size())};
  } catch (...) {
    wire::ErrorBody error = detail::describe_exception(std::current_exception());
    if (error.name.empty()) error.name = "Exception";
    return error_reply(error.name, error.message);
  }
}

// Engine::handle_work without the engine.
Reply handle_work(std::string_view body, const Caller& caller, const Registry& registry) {
  auto value = unpack_checked(body);
  if (!value) {
    auto refused = wire::unpack_body(body);
    return error_reply("ValueError",
                       "undecodable WORK body: " + std::string(wire::body_error_text(std::get<wire::BodyError>(refused))));
  }
  auto decoded = wire::decode_work(value->get());
  if (auto* rejection = std::get_if<wire::WorkRejection>(&decoded)) {
    return error_reply(rejection->class_name, rejection->message);
  }
  const wire::WorkBody& work = std::get<wire::WorkBody>(decoded);
  std::shared_ptr<const Route> route;
  try {
    route = registry.lookup(work.name, caller.predicate_args);
  } catch (const std::exception&) {
    // a predicate threw: the engine logs it and treats the name as unknown
  }
  if (!route) return error_reply("ServiceNotFoundError", work.name);
  return run_handler(*route, work, caller);
}

std::string packed_string(std::string_view text) {
  pseud::detail::WireBuffer buffer;
  msgpack::packer<pseud::detail::WireBuffer>(buffer).pack(std::string(text));
  return {buffer.data(), buffer.size()};
}

std::string name_of(std::string_view body) {
  auto value = wire::unpack_body(body);
  auto* handle = std::get_if<msgpack::object_handle>(&value);
  if (!handle) return {};
  auto work = wire::decode_work(handle->get());
  auto* decoded = std::get_if<wire::WorkBody>(&work);
  return decoded ? std::string(decoded->name) : std::string();
}

void check_reply(const Reply& reply, std::string_view request, const Caller& caller) {
  // A request cannot make the reply much larger than itself (repr() of a bin name is the worst: 4x).
  require(reply.body.size() <= 4 * request.size() + 1024, "a reply is at most 4x its request plus 1 KiB");
  auto value = unpack_checked(reply.body);
  require(value.has_value(), "every reply body is valid msgpack");
  std::string error_name;
  if (reply.type == wire::MessageType::error) {
    auto error = wire::decode_error(value->get());
    require(error && !error->name.empty(), "an ERROR reply is [name, message, traceback] with a name");
    error_name = error->name;
  }
  const std::string name = name_of(request);
  const bool admin = caller.predicate_args.has_permission("admin");
  if (name == "admin.only" && !admin) {
    require(error_name == "ServiceNotFoundError", "a domain predicate keeps admin.only from other callers");
  }
  if (name == "nobody.hidden") {
    require(error_name == "ServiceNotFoundError", "a domain without a predicate refuses everyone");
  }
  if (name == "report" && reply.type == wire::MessageType::ok) {
    require(reply.body == packed_string(admin ? "private" : "public"), "non-default domains are tried first");
  }
  if (name == "whoami" && reply.type == wire::MessageType::ok) {
    require(reply.body == packed_string(caller.identity()), "with_identity receives the caller's identity");
  }

  // The reply as the engine sends it back.
  const std::string id(16, '\x42');
  const wire::Message message{id, reply.type, reply.body};
  const auto frames = wire::router_frames(caller.routing_id, message);
  auto decoded = wire::decode_frames(frames);
  const auto* envelope = std::get_if<wire::Envelope>(&decoded);
  require(envelope && envelope->message.type == reply.type && envelope->message.body == reply.body,
          "a reply frames and decodes back");
}

std::vector<Caller> callers() {
  Caller anonymous{std::string("\x00\x6b\x8b\x45\x67", 5), "", {}};
  Caller admin{"client-7", "alice", {}};
  admin.predicate_args.user_id = "alice";
  admin.predicate_args.permissions = {"admin"};
  return {anonymous, admin};
}

}  // namespace

int fuzz_dispatch(const std::uint8_t* data, std::size_t size) {
  static const std::vector<Caller> everyone = callers();
  const Registry& registry = dispatch_registry();
  const std::string_view body = bytes_of(data, size);
  for (const Caller& caller : everyone) check_reply(handle_work(body, caller, registry), body, caller);
  return 0;
}

}  // namespace pseud::fuzz
