// Frame-level codec: decode_frames for every form and every refusal, the
// type bytes, id lengths, and the router_frames / req_frames encoders.

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.hpp"
#include "wire/frames.hpp"

namespace pseud::test {
namespace {

using wire::Envelope;
using wire::Form;
using wire::FrameError;
using wire::Message;
using wire::MessageType;

const MessageType all_types[] = {MessageType::ok,        MessageType::hello, MessageType::work,
                                 MessageType::authenticated, MessageType::heartbeat, MessageType::error,
                                 MessageType::unauthorized};

const FrameError all_frame_errors[] = {FrameError::frame_count,    FrameError::missing_delimiter,
                                       FrameError::empty_routing_id, FrameError::bad_version,
                                       FrameError::bad_type_frame, FrameError::unknown_type,
                                       FrameError::id_too_long};

std::string byte(std::uint8_t b) { return std::string(1, static_cast<char>(b)); }

// Owns the frames so the decoded views stay valid for the whole test.
struct FrameSet {
  Frames frames;
  std::vector<std::string_view> views;

  explicit FrameSet(Frames f) : frames(std::move(f)) {
    for (const std::string& frame : frames) views.emplace_back(frame);
  }

  std::variant<Envelope, FrameError> decode() const { return wire::decode_frames(views); }
};

Frames router(std::string id, std::string type, std::string body = "\x03") {
  return {"server", "", "v1", std::move(id), std::move(type), std::move(body)};
}

Frames req(std::string id, std::string type, std::string body = "\x03") {
  return {"v1", std::move(id), std::move(type), std::move(body)};
}

Envelope expect_envelope(const FrameSet& set) {
  auto decoded = set.decode();
  if (auto* error = std::get_if<FrameError>(&decoded)) {
    ADD_FAILURE() << "refused: " << wire::frame_error_text(*error);
    return {};
  }
  return std::get<Envelope>(decoded);
}

::testing::AssertionResult refused_with(const FrameSet& set, FrameError expected) {
  auto decoded = set.decode();
  if (std::holds_alternative<Envelope>(decoded)) return ::testing::AssertionFailure() << "accepted";
  const FrameError got = std::get<FrameError>(decoded);
  if (got != expected) {
    return ::testing::AssertionFailure() << "refused with \"" << wire::frame_error_text(got) << "\", expected \""
                                         << wire::frame_error_text(expected) << "\"";
  }
  return ::testing::AssertionSuccess();
}

// --- forms ---

TEST(DecodeFrames, ProbeIsRoutingIdAndEmptyFrame) {
  const FrameSet set({hex_decode("006b8b4567"), ""});
  const Envelope envelope = expect_envelope(set);
  EXPECT_EQ(envelope.form, Form::probe);
  EXPECT_EQ(envelope.routing_id, hex_decode("006b8b4567"));
  EXPECT_EQ(envelope.routing_id.data(), set.frames[0].data());
}

TEST(DecodeFrames, ReqFormHasNoRoutingId) {
  const FrameSet set(req("abc", "\x01", "\x03"));
  const Envelope envelope = expect_envelope(set);
  EXPECT_EQ(envelope.form, Form::req);
  EXPECT_TRUE(envelope.routing_id.empty());
  EXPECT_EQ(envelope.message.id, "abc");
  EXPECT_EQ(envelope.message.type, MessageType::ok);
  EXPECT_EQ(envelope.message.body, "\x03");
}

TEST(DecodeFrames, RouterFormViewsIntoTheFrames) {
  const FrameSet set(router(std::string(16, '\x7a'), "\x03", hex_decode("93a361646492010280")));
  const Envelope envelope = expect_envelope(set);
  EXPECT_EQ(envelope.form, Form::router);
  EXPECT_EQ(envelope.routing_id, "server");
  EXPECT_EQ(envelope.message.id, std::string(16, '\x7a'));
  EXPECT_EQ(envelope.message.type, MessageType::work);
  EXPECT_EQ(envelope.message.body, hex_decode("93a361646492010280"));
  // Views, not copies: the envelope is only valid while the frames live.
  EXPECT_EQ(envelope.routing_id.data(), set.frames[0].data());
  EXPECT_EQ(envelope.message.id.data(), set.frames[3].data());
  EXPECT_EQ(envelope.message.body.data(), set.frames[5].data());
}

TEST(DecodeFrames, BodyIsNotInspected) {
  // Garbage or empty bodies are the body layer's business, not the frame layer's.
  for (const std::string& body : {std::string(), std::string("\xc1\xc1"), std::string("\xdd\xff\xff\xff\xff")}) {
    const FrameSet set(router("id", "\x03", body));
    EXPECT_EQ(expect_envelope(set).message.body, body);
  }
}

TEST(DecodeFrames, RoutingIdMayContainAnyBytes) {
  const std::string rid("\x00\xff\x00", 3);
  const FrameSet set({rid, "", "v1", "", "\x06", ""});
  EXPECT_EQ(expect_envelope(set).routing_id, rid);
}

// --- refusals ---

TEST(DecodeFrames, WrongFrameCounts) {
  for (std::size_t count : {0u, 1u, 3u, 5u, 7u, 8u, 12u}) {
    Frames frames(count, "");
    if (count >= 1) frames[0] = "server";
    if (count >= 3) frames[2] = "v1";
    EXPECT_TRUE(refused_with(FrameSet(frames), FrameError::frame_count)) << count << " frames";
  }
}

TEST(DecodeFrames, FiveFramesWithoutDelimiterAreRefused) {
  // The edge-probe case that kills a Python peer: the delimiter is missing.
  EXPECT_TRUE(refused_with(FrameSet({"server", "v1", "id", "\x03", "\x03"}), FrameError::frame_count));
}

TEST(DecodeFrames, MissingDelimiter) {
  EXPECT_TRUE(refused_with(FrameSet({"server", "x"}), FrameError::missing_delimiter));
  EXPECT_TRUE(refused_with(FrameSet({"server", "x", "v1", "id", "\x03", "\x03"}), FrameError::missing_delimiter));
  // "v1" where the delimiter belongs: a REQ form glued to a routing id.
  EXPECT_TRUE(refused_with(FrameSet({"server", "v1", "id", "\x03", "\x03", ""}), FrameError::missing_delimiter));
}

TEST(DecodeFrames, EmptyRoutingId) {
  EXPECT_TRUE(refused_with(FrameSet({"", ""}), FrameError::empty_routing_id));
  EXPECT_TRUE(refused_with(FrameSet({"", "", "v1", "id", "\x03", "\x03"}), FrameError::empty_routing_id));
}

TEST(DecodeFrames, BadVersion) {
  for (const std::string& version : {std::string("v2"), std::string(), std::string("V1"), std::string("v10"),
                                    std::string("v1\0", 3), std::string("1")}) {
    Frames r = router("id", "\x03");
    r[2] = version;
    EXPECT_TRUE(refused_with(FrameSet(r), FrameError::bad_version)) << hex_encode(version);
    Frames q = req("id", "\x03");
    q[0] = version;
    EXPECT_TRUE(refused_with(FrameSet(q), FrameError::bad_version)) << hex_encode(version);
  }
}

TEST(DecodeFrames, TypeFrameMustBeOneByte) {
  for (const std::string& type : {std::string(), std::string("\x03\x00", 2), std::string("\x01\x01"),
                                 std::string("WORK")}) {
    EXPECT_TRUE(refused_with(FrameSet(router("id", type)), FrameError::bad_type_frame)) << hex_encode(type);
    EXPECT_TRUE(refused_with(FrameSet(req("id", type)), FrameError::bad_type_frame)) << hex_encode(type);
  }
}

TEST(DecodeFrames, EveryOtherTypeByteIsUnknown) {
  std::set<std::uint8_t> known;
  for (MessageType type : all_types) known.insert(static_cast<std::uint8_t>(type));
  int unknown = 0;
  for (int b = 0; b < 256; ++b) {
    const auto value = static_cast<std::uint8_t>(b);
    if (known.count(value) != 0) continue;
    ++unknown;
    EXPECT_TRUE(refused_with(FrameSet(router("id", byte(value))), FrameError::unknown_type)) << "byte " << b;
    EXPECT_TRUE(refused_with(FrameSet(req("id", byte(value))), FrameError::unknown_type)) << "byte " << b;
    EXPECT_FALSE(wire::message_type_from_byte(value).has_value()) << "byte " << b;
  }
  EXPECT_EQ(unknown, 249);
}

TEST(DecodeFrames, IdLengths) {
  for (std::size_t size : {0u, 1u, 3u, 16u, 254u, 255u}) {
    std::string id(size, '\0');
    for (std::size_t i = 0; i < size; ++i) id[i] = static_cast<char>(i * 7);
    const FrameSet r(router(id, "\x01"));
    EXPECT_EQ(expect_envelope(r).message.id, id) << size;
    const FrameSet q(req(id, "\x01"));
    EXPECT_EQ(expect_envelope(q).message.id, id) << size;
  }
  for (std::size_t size : {256u, 257u, 4096u}) {
    EXPECT_TRUE(refused_with(FrameSet(router(std::string(size, 'x'), "\x01")), FrameError::id_too_long)) << size;
    EXPECT_TRUE(refused_with(FrameSet(req(std::string(size, 'x'), "\x01")), FrameError::id_too_long)) << size;
  }
  EXPECT_EQ(wire::max_id_size, 255u);
  EXPECT_EQ(wire::generated_id_size, 16u);
}

TEST(DecodeFrames, HeartbeatHasEmptyIdAndBody) {
  const FrameSet set({"server", "", "v1", "", "\x06", ""});
  const Envelope envelope = expect_envelope(set);
  EXPECT_EQ(envelope.message.type, MessageType::heartbeat);
  EXPECT_TRUE(envelope.message.id.empty());
  EXPECT_TRUE(envelope.message.body.empty());
}

TEST(FrameErrors, EveryErrorHasItsOwnText) {
  std::set<std::string_view> texts;
  for (FrameError error : all_frame_errors) {
    const std::string_view text = wire::frame_error_text(error);
    EXPECT_FALSE(text.empty());
    EXPECT_NE(text, "?");
    texts.insert(text);
  }
  EXPECT_EQ(texts.size(), std::size(all_frame_errors));
}

// --- type bytes ---

TEST(MessageTypes, ProtocolValues) {
  EXPECT_EQ(static_cast<int>(MessageType::ok), 0x01);
  EXPECT_EQ(static_cast<int>(MessageType::hello), 0x02);
  EXPECT_EQ(static_cast<int>(MessageType::work), 0x03);
  EXPECT_EQ(static_cast<int>(MessageType::authenticated), 0x04);
  EXPECT_EQ(static_cast<int>(MessageType::heartbeat), 0x06);
  EXPECT_EQ(static_cast<int>(MessageType::error), 0x10);
  EXPECT_EQ(static_cast<int>(MessageType::unauthorized), 0x11);
  EXPECT_FALSE(wire::message_type_from_byte(0x05).has_value());
}

TEST(MessageTypes, Names) {
  EXPECT_EQ(wire::message_type_name(MessageType::ok), "OK");
  EXPECT_EQ(wire::message_type_name(MessageType::hello), "HELLO");
  EXPECT_EQ(wire::message_type_name(MessageType::work), "WORK");
  EXPECT_EQ(wire::message_type_name(MessageType::authenticated), "AUTHENTICATED");
  EXPECT_EQ(wire::message_type_name(MessageType::heartbeat), "HEARTBEAT");
  EXPECT_EQ(wire::message_type_name(MessageType::error), "ERROR");
  EXPECT_EQ(wire::message_type_name(MessageType::unauthorized), "UNAUTHORIZED");
}

TEST(MessageTypes, EachTypeDecodesInBothForms) {
  for (MessageType type : all_types) {
    const auto value = static_cast<std::uint8_t>(type);
    EXPECT_EQ(wire::message_type_from_byte(value), type);
    EXPECT_EQ(wire::type_frame(type), byte(value));
    const FrameSet r(router("id", byte(value)));
    EXPECT_EQ(expect_envelope(r).message.type, type) << wire::message_type_name(type);
    const FrameSet q(req("id", byte(value)));
    EXPECT_EQ(expect_envelope(q).message.type, type) << wire::message_type_name(type);
  }
}

// --- encoders ---

TEST(RouterFrames, Layout) {
  const std::string id = hex_decode("a974bb75dd0148d68dd0ef1a79f189fa");
  const std::string body = hex_decode("93a361646492010280");
  const auto frames = wire::router_frames("server", Message{id, MessageType::work, body});
  const std::vector<std::string> got(frames.begin(), frames.end());
  EXPECT_EQ(got, (Frames{"server", "", "v1", id, "\x03", body}));
}

TEST(ReqFrames, Layout) {
  const auto frames = wire::req_frames(Message{"abc", MessageType::ok, "\x03"});
  const std::vector<std::string> got(frames.begin(), frames.end());
  EXPECT_EQ(got, (Frames{"v1", "abc", "\x01", "\x03"}));
}

TEST(RouterFrames, RoundTripEveryTypeAndIdLength) {
  for (MessageType type : all_types) {
    for (std::size_t size : {0u, 3u, 16u, 255u}) {
      const std::string id(size, '\x5a');
      const std::string body = type == MessageType::heartbeat ? "" : "\x92\x01\x02";
      const Message message{id, type, body};

      const auto router_set_frames = wire::router_frames("peer", message);
      const FrameSet router_set(Frames(router_set_frames.begin(), router_set_frames.end()));
      const Envelope r = expect_envelope(router_set);
      EXPECT_EQ(r.form, Form::router);
      EXPECT_EQ(r.routing_id, "peer");
      EXPECT_EQ(r.message.id, id);
      EXPECT_EQ(r.message.type, type);
      EXPECT_EQ(r.message.body, body);

      const auto req_set_frames = wire::req_frames(message);
      const FrameSet req_set(Frames(req_set_frames.begin(), req_set_frames.end()));
      const Envelope q = expect_envelope(req_set);
      EXPECT_EQ(q.form, Form::req);
      EXPECT_EQ(q.message.id, id);
      EXPECT_EQ(q.message.type, type);
      EXPECT_EQ(q.message.body, body);
    }
  }
}

TEST(TypeFrame, IsStaticStorage) {
  for (MessageType type : all_types) {
    const std::string_view first = wire::type_frame(type);
    const std::string_view second = wire::type_frame(type);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first.data(), second.data());
  }
}

}  // namespace
}  // namespace pseud::test
