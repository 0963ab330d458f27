// Target "events": what an events socket receives (event_frames.hpp) and the
// patterns subscribers send. The first byte picks the decoder, the rest is
// its input: 0 SUB, 1 ACK, 2 NACK, 3 an event, 4 a pattern against a type
// (two pieces). Whatever decodes must encode back to something that decodes
// the same, and a pattern check must agree with the matcher.

#include "events/event_frames.hpp"
#include "events/topic_pattern.hpp"
#include "fuzz_input.hpp"
#include "fuzz_targets.hpp"
#include "pseud/errors.hpp"

namespace pseud::fuzz {

namespace {

namespace ew = detail::events_wire;

std::string_view view(const detail::WireBuffer& buffer) { return {buffer.data(), buffer.size()}; }

void check_sub(std::string_view body) {
  const auto request = ew::decode_sub(body, 64);
  if (!request) return;
  require(request->subscriptions.size() <= 64, "a SUB never holds more subscriptions than allowed");
  const auto again = ew::decode_sub(view(ew::encode_sub(*request)), 64);
  require(again && again->ticket == request->ticket && again->subscriptions.size() == request->subscriptions.size(),
          "a decoded SUB encodes back to the same SUB");
  for (std::size_t i = 0; i < request->subscriptions.size(); ++i) {
    require(again->subscriptions[i].pattern == request->subscriptions[i].pattern &&
                again->subscriptions[i].group == request->subscriptions[i].group,
            "each subscription survives the round trip");
    (void)detail::TopicPattern::problem(request->subscriptions[i].pattern);  // the hub checks each
  }
}

void check_ack(std::string_view body, bool refused) {
  const auto answer = ew::decode_ack(body, refused);
  if (!answer) return;
  const auto again = ew::decode_ack(view(ew::encode_ack(*answer, refused)), refused);
  require(again && again->event_id == answer->event_id && again->group == answer->group && again->why == answer->why,
          "a decoded ACK or NACK encodes back to the same");
}

void check_event(std::string_view body) {
  const auto event = ew::decode_event(body);
  if (!event) return;
  detail::WireBuffer packed_body;
  msgpack::pack(packed_body, event->body.get());
  const auto again =
      ew::decode_event(view(ew::encode_event(event->id, event->type, event->source, event->headers, view(packed_body))));
  require(again && again->id == event->id && again->type == event->type && again->source == event->source &&
              again->headers == event->headers,
          "a decoded event encodes back to the same event");
}

void check_pattern(std::string_view input) {
  const auto pieces = split_pieces(input, 2);
  const std::string_view pattern = pieces.empty() ? std::string_view() : pieces[0];
  const std::string_view type = pieces.size() < 2 ? std::string_view() : pieces[1];
  const bool valid = !detail::TopicPattern::problem(pattern);
  try {
    const detail::TopicPattern parsed(pattern);
    require(valid, "TopicPattern accepts only what problem() accepts");
    const bool matches = parsed.matches(type);
    if (!detail::event_type_problem(type) && pattern == type) require(matches, "a type matches itself as a pattern");
    if (!detail::event_type_problem(type)) require(detail::TopicPattern("#").matches(type), "'#' matches every type");
  } catch (const UsageError&) {
    require(!valid, "TopicPattern refuses only what problem() refuses");
  }
}

}  // namespace

int fuzz_events(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = bytes_of(data, size);
  if (input.empty()) return 0;
  const std::string_view body = input.substr(1);
  switch (static_cast<std::uint8_t>(input[0]) % 5) {
    case 0: check_sub(body); break;
    case 1: check_ack(body, false); break;
    case 2: check_ack(body, true); break;
    case 3: check_event(body); break;
    default: check_pattern(body); break;
  }
  return 0;
}

}  // namespace pseud::fuzz
