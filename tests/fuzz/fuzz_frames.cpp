// Target "frames": the input's pieces (fuzz_input.hpp) are one received
// frame set. It goes through wire::decode_frames as the engine receives it;
// an accepted envelope must re-encode to the same frames, and its body is
// decoded as the receiver of that type decodes it (engine, auth reply,
// client reply conversion).

#include <algorithm>
#include <map>
#include <variant>
#include <vector>

#include "body_checks.hpp"
#include "fuzz_input.hpp"
#include "fuzz_targets.hpp"
#include "pseud/detail/outgoing_call.hpp"
#include "values/exception_mapping.hpp"
#include "wire/bodies.hpp"
#include "wire/frames.hpp"
#include "wire/msgpack_scan.hpp"

namespace pseud::fuzz {

namespace {

// One more than the largest valid set: any larger count is refused the same way.
constexpr std::size_t max_frames = 7;

template <std::size_t N>
bool same_frames(const std::array<std::string_view, N>& encoded, const std::vector<std::string_view>& frames) {
  return frames.size() == N && std::equal(encoded.begin(), encoded.end(), frames.begin());
}

void check_refusal(wire::FrameError error, const std::vector<std::string_view>& frames) {
  require(!wire::frame_error_text(error).empty(), "every frame error has a text");
  const std::size_t count = frames.size();
  if (count != 2 && count != 4 && count != 6) {
    require(error == wire::FrameError::frame_count, "a wrong frame count is refused first");
    return;
  }
  require(error != wire::FrameError::frame_count, "2, 4 and 6 frames are valid counts");
  if (count != 4 && frames[0].empty()) require(error == wire::FrameError::empty_routing_id, "empty routing id");
}

void check_work(const msgpack::object& body) {
  const msgpack::object* name = body.type == msgpack::type::ARRAY && body.via.array.size == 3 ? body.via.array.ptr
                                                                                              : nullptr;
  auto decoded = wire::decode_work(body);
  if (auto* rejection = std::get_if<wire::WorkRejection>(&decoded)) {
    const bool bin_name = name && name->type == msgpack::type::BIN;
    require(rejection->class_name == (bin_name ? "ServiceNotFoundError" : "TypeError"),
            "a refused WORK is a TypeError, or ServiceNotFoundError for a bin name");
    if (bin_name) {
      require(rejection->message == wire::python_bytes_repr({name->via.bin.ptr, name->via.bin.size}),
              "a bin name is reported as Python's repr of the bytes");
    }
    return;
  }
  const wire::WorkBody& work = std::get<wire::WorkBody>(decoded);
  require(name && name->type == msgpack::type::STR, "an accepted WORK has a str name");
  require(work.arg_count == body.via.array.ptr[1].via.array.size, "all positional arguments are kept");
  for (std::uint32_t i = 0; i < work.kwarg_count; ++i) {
    require(work.kwargs[i].key.type == msgpack::type::STR, "an accepted WORK has only str keyword names");
  }
}

template <class R>
void try_convert(const msgpack::object& value) {
  try {
    (void)detail::convert_reply<R>(value);
  } catch (const ConversionError&) {
    // the value does not fit R: what the caller is told
  }
}

// What a caller does with an OK reply: convert it to the type it asked for.
void check_ok(const msgpack::object& value) {
  const msgpack::object_handle copy = detail::convert_reply<msgpack::object_handle>(value);
  require(packed(copy.get()) == packed(value), "the raw reply is an exact copy");
  try_convert<bool>(value);
  try_convert<std::int64_t>(value);
  try_convert<std::uint8_t>(value);
  try_convert<double>(value);
  try_convert<std::string>(value);
  try_convert<Bytes>(value);
  try_convert<std::vector<std::int64_t>>(value);
  try_convert<std::vector<std::string>>(value);
  try_convert<std::map<std::string, std::int64_t>>(value);
  try_convert<std::map<std::int64_t, std::vector<double>>>(value);
}

void check_error(const msgpack::object& value) {
  auto error = wire::decode_error(value);
  if (!error) return;
  msgpack::sbuffer buffer;
  wire::encode_error(buffer, error->name, error->message, error->traceback);
  auto again = unpack_checked({buffer.data(), buffer.size()});
  require(again.has_value(), "an encoded ERROR unpacks");
  require(!wire::find_python_hazard({buffer.data(), buffer.size()}, {}), "an encoded ERROR is safe for a Python peer");
  auto decoded = wire::decode_error(again->get());
  // encode_error turns bytes that are not UTF-8 into U+FFFD and leaves the rest alone.
  require(decoded && decoded->name == wire::replace_invalid_utf8(error->name) &&
              decoded->message == wire::replace_invalid_utf8(error->message) &&
              decoded->traceback == wire::replace_invalid_utf8(error->traceback),
          "decode_error(encode_error(x)) == x, with U+FFFD for bytes that are not UTF-8");
  const std::string name = error->name;
  const std::string message = error->message;
  try {
    std::rethrow_exception(detail::remote_exception(std::move(*error)));
  } catch (const RemoteError& e) {
    require(e.name() == name && e.message() == message, "the caller's exception carries the ERROR's name and message");
  }
}

void check_hello(const msgpack::object& value) {
  auto hello = wire::decode_hello(value);
  if (!hello) return;
  msgpack::sbuffer buffer;
  wire::encode_hello(buffer, hello->login, hello->password);
  auto again = unpack_checked({buffer.data(), buffer.size()});
  require(again.has_value(), "an encoded HELLO unpacks");
  auto decoded = wire::decode_hello(again->get());
  require(decoded && decoded->login == hello->login && decoded->password == hello->password,
          "decode_hello(encode_hello(x)) == x");
}

void check_body(const wire::Message& message) {
  switch (message.type) {
    case wire::MessageType::heartbeat:
    case wire::MessageType::authenticated:
    case wire::MessageType::unauthorized:
      return;  // empty or raw text: nothing is decoded
    case wire::MessageType::work:
    case wire::MessageType::ok:
    case wire::MessageType::error:
    case wire::MessageType::hello:
      break;
  }
  auto value = unpack_checked(message.body);
  if (!value) return;
  switch (message.type) {
    case wire::MessageType::work: check_work(value->get()); break;
    case wire::MessageType::ok: check_ok(value->get()); break;
    case wire::MessageType::error: check_error(value->get()); break;
    case wire::MessageType::hello: check_hello(value->get()); break;
    default: break;
  }
}

}  // namespace

int fuzz_frames(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::string_view> frames = split_pieces(bytes_of(data, size), max_frames);
  auto decoded = wire::decode_frames(frames);
  if (auto* error = std::get_if<wire::FrameError>(&decoded)) {
    check_refusal(*error, frames);
    return 0;
  }
  const wire::Envelope& envelope = std::get<wire::Envelope>(decoded);
  switch (envelope.form) {
    case wire::Form::probe:
      require(frames.size() == 2 && !frames[0].empty() && frames[1].empty(), "a probe is [routing id, \"\"]");
      return 0;
    case wire::Form::router:
      require(same_frames(wire::router_frames(envelope.routing_id, envelope.message), frames),
              "a ROUTER frame set re-encodes to the same frames");
      break;
    case wire::Form::req:
      require(same_frames(wire::req_frames(envelope.message), frames), "a REQ frame set re-encodes to the same frames");
      break;
  }
  require(envelope.message.id.size() <= wire::max_id_size, "accepted ids are at most 255 bytes");
  check_body(envelope.message);
  return 0;
}

}  // namespace pseud::fuzz
