// Hostile input, both directions. A raw ZeroMQ "attacker" sends malformed,
// oversized and unexpected frame sets
//   * to a pseud::Server, from a raw ROUTER (PROBE_ROUTER, addressing the
//     server by its name) or a raw DEALER that connects to it, or from a REQ;
//   * to a pseud::Client, from a raw ROUTER bound with the client's server
//     name, which learns the client's routing id from its probe [rid, ""].
// Every case checks (1) the reply, or that none comes within a short bounded
// window; (2) the counter in stats() that must move; (3) that no handler ran
// for refused input; (4) that THE SAME raw peer is still served afterwards
// (and, for the client, that its own calls to the fake server still work).
// Everything runs over tcp://127.0.0.1 with a per-test ZMQ context.

#include <zmq.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

// "No reply" means none within this window.
constexpr auto quiet_window = 200ms;
// Refused bombs must be answered within this.
constexpr auto bomb_deadline = 100ms;
// Cap used by the oversize tests (the others keep the 4 MiB default).
constexpr std::size_t small_cap = 64 * 1024;
constexpr std::size_t default_cap = 4 * 1024 * 1024;

const std::string V = "v1";

std::string byte(unsigned value) { return std::string(1, static_cast<char>(value)); }

const std::string OK = byte(0x01);
const std::string HELLO = byte(0x02);
const std::string WORK = byte(0x03);
const std::string AUTHENTICATED = byte(0x04);
const std::string HEARTBEAT = byte(0x06);
const std::string ERROR = byte(0x10);
const std::string UNAUTHORIZED = byte(0x11);

// 16 bytes, distinct per call, like the uuid4 ids pseud generates.
std::string fresh_id() {
  static std::atomic<unsigned> counter{0};
  char text[32];
  std::snprintf(text, sizeof text, "hostile-%08x", counter.fetch_add(1));
  return std::string(text, 16);
}

template <class T>
std::string packed(const T& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return {buffer.data(), buffer.size()};
}


// A valid WORK body for add(1, 2): 93 a3 616464 92 01 02 80.
const std::string valid_add = hex_decode("93a3616464920102" "80");

// ["add", [bin of n bytes], {}] of exactly `total` bytes (total >= 16).
std::string padded_work_body(std::size_t total) {
  // 93 a3 616464 91 c6 <len32> <bytes> 80: 12 bytes of overhead.
  const std::size_t n = total - 12;
  std::string body = hex_decode("93a361646491c6");
  for (int shift = 24; shift >= 0; shift -= 8) body += static_cast<char>((n >> shift) & 0xff);
  body += std::string(n, 'x');
  body += hex_decode("80");
  return body;
}

std::string error_body(const std::string& name, const std::string& message) {
  return packed(std::vector<std::string>{name, message, ""});
}

// [class name, message, traceback] of an ERROR body; empty on failure.
std::vector<std::string> decode_error(const std::string& body) {
  try {
    auto handle = msgpack::unpack(body.data(), body.size());
    auto parts = handle.get().as<std::vector<std::string>>();
    if (parts.size() == 3) return parts;
  } catch (const std::exception&) {
  }
  return {};
}

std::string describe(const std::optional<Frames>& frames) {
  if (!frames) return "(nothing)";
  std::string out = std::to_string(frames->size()) + " frames:";
  for (const auto& frame : *frames) out += " [" + hex_encode(frame.substr(0, 48)) + (frame.size() > 48 ? "...]" : "]");
  return out;
}

// ---- memory -------------------------------------------------------------

long status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::size_t length = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, length, field) == 0) return std::stol(line.substr(length));
  }
  return -1;
}

// Resets VmHWM to the current RSS (Linux >= 4.0); false when not possible.
bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return out.good();
}

// ---- a socket monitor -----------------------------------------------------

class Monitor {
 public:
  Monitor(zmq::context_t& context, zmq::socket_t& socket) : socket_(socket) {
    static std::atomic<int> counter{0};
    endpoint_ = "inproc://hostile-monitor-" + std::to_string(counter.fetch_add(1));
    if (zmq_socket_monitor(socket.handle(), endpoint_.c_str(), ZMQ_EVENT_ALL) != 0) throw zmq::error_t();
    pair_ = zmq::socket_t(context, zmq::socket_type::pair);
    pair_.set(zmq::sockopt::linger, 0);
    pair_.connect(endpoint_);
  }
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;
  ~Monitor() { zmq_socket_monitor(socket_.handle(), nullptr, 0); }

  // True when `event` is reported within `limit`; other events are skipped.
  bool wait_for(std::uint16_t event, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pair_.set(zmq::sockopt::rcvtimeo, static_cast<int>(left.count()));
      zmq::message_t head;
      if (!pair_.recv(head)) return false;
      zmq::message_t address;
      if (head.more() && !pair_.recv(address)) return false;
      if (head.size() < 2) continue;
      std::uint16_t kind;
      std::memcpy(&kind, head.data(), sizeof kind);
      if (kind == event) return true;
    }
  }

 private:
  zmq::socket_t& socket_;
  std::string endpoint_;
  zmq::socket_t pair_;
};

// ---- the arena: one victim peer and one raw attacker ---------------------

enum class Role { server_from_router, server_from_dealer, client_from_fake_server };

std::string role_name(Role role) {
  switch (role) {
    case Role::server_from_router: return "ServerFromRawRouter";
    case Role::server_from_dealer: return "ServerFromRawDealer";
    case Role::client_from_fake_server: return "ClientFromFakeServer";
  }
  return "?";
}

void PrintTo(Role role, std::ostream* os) { *os << role_name(role); }

const auto all_roles =
    ::testing::Values(Role::server_from_router, Role::server_from_dealer, Role::client_from_fake_server);

// Sends `frames` to `to` through a raw ROUTER, waiting (bounded) while the
// destination is not routable yet (ROUTER_MANDATORY says EHOSTUNREACH).
void send_routed(RawSocket& raw, const std::string& to, const Frames& frames) {
  const auto until = std::chrono::steady_clock::now() + bound;
  while (true) {
    try {
      raw.socket().send(zmq::buffer(to), zmq::send_flags::sndmore);
      break;
    } catch (const zmq::error_t& e) {
      if (e.num() != EHOSTUNREACH || std::chrono::steady_clock::now() > until) throw;
      std::this_thread::sleep_for(1ms);  // polling step while the handshake completes
    }
  }
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
    raw.socket().send(zmq::buffer(frames[i]), flags);
  }
}

class Arena {
 public:
  Arena(Role role, std::size_t max_message_size) : role_(role) {
    const PeerOptions options{.max_message_size = max_message_size, .parent_registry = nullptr, .context = context_};
    if (role == Role::client_from_fake_server) {
      raw_ = std::make_unique<RawSocket>(*context_, zmq::socket_type::router, "server");
      raw_->socket().set(zmq::sockopt::router_mandatory, 1);
      raw_->socket().bind("tcp://127.0.0.1:*");
      endpoint_ = raw_->socket().get(zmq::sockopt::last_endpoint);
      client_ = std::make_unique<Client>("server", options);
      peer_ = client_.get();
      register_handlers();
      client_->connect(endpoint_);
      learn_client_route();
    } else {
      server_ = std::make_unique<Server>("server", options);
      peer_ = server_.get();
      register_handlers();
      endpoint_ = server_->bind("tcp://127.0.0.1:*");
      const bool router = role == Role::server_from_router;
      raw_ = std::make_unique<RawSocket>(*context_, router ? zmq::socket_type::router : zmq::socket_type::dealer,
                                         "attacker");
      if (router) {
        raw_->socket().set(zmq::sockopt::probe_router, 1);
        raw_->socket().set(zmq::sockopt::router_mandatory, 1);
      }
      raw_->socket().connect(endpoint_);
    }
    // Baseline: the connection is up and a valid WORK is answered.
    const std::string id = fresh_id();
    send({"", V, id, WORK, work_body("add", 1, 1)});
    const auto reply = receive(bound);
    if (!reply || *reply != Frames{"", V, id, OK, packed(2)}) {
      throw std::runtime_error("arena setup: baseline WORK not answered: " + describe(reply));
    }
    // requests_handled moves just after the reply is sent: let it settle
    // before a test snapshots the counters.
    if (!eventually([&] { return stats().requests_handled == 1; }, 2000ms)) {
      throw std::runtime_error("arena setup: requests_handled did not reach 1");
    }
  }

  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  ~Arena() {
    intruder_.reset();
    raw_.reset();
    client_.reset();
    server_.reset();
  }

  bool is_client() const { return role_ == Role::client_from_fake_server; }
  Peer& victim() { return *peer_; }
  PeerStats stats() const { return peer_->stats(); }
  int handler_calls() const { return handler_calls_.load(); }
  zmq::context_t& context() { return *context_; }
  RawSocket& raw() { return *raw_; }
  const std::string& endpoint() const { return endpoint_; }

  // The name the victim calls the attacker by.
  std::string attacker_name() const { return is_client() ? "server" : "attacker"; }

  // Sends the frames that follow the routing id.
  void send(const Frames& frames) {
    switch (role_) {
      case Role::server_from_router: send_routed(*raw_, "server", frames); return;
      case Role::server_from_dealer: raw_->send(frames); return;
      case Role::client_from_fake_server: send_routed(*raw_, client_rid_, frames); return;
    }
  }

  // The next message from the victim, without its routing id.
  std::optional<Frames> receive(std::chrono::milliseconds limit) {
    auto frames = raw_->receive(limit);
    if (!frames || role_ == Role::server_from_dealer) return frames;
    const std::string expected = role_ == Role::server_from_router ? "server" : client_rid_;
    if (frames->empty() || frames->front() != expected) {
      ADD_FAILURE() << "message from an unexpected routing id: " << describe(frames);
      return frames;
    }
    frames->erase(frames->begin());
    return frames;
  }

  // (1) for dropped input: nothing comes back within the quiet window.
  void expect_no_reply() {
    const auto reply = receive(quiet_window);
    EXPECT_FALSE(reply) << "expected no reply, got " << describe(reply);
  }

  // An ERROR reply to `id`; returns its [class, message, traceback].
  std::vector<std::string> expect_error_reply(const std::string& id, std::chrono::milliseconds limit = bound) {
    const auto reply = receive(limit);
    if (!reply) {
      ADD_FAILURE() << "no ERROR reply within " << limit.count() << " ms";
      return {};
    }
    if (reply->size() != 5 || (*reply)[0] != "" || (*reply)[1] != V || (*reply)[2] != id || (*reply)[3] != ERROR) {
      ADD_FAILURE() << "expected an ERROR echoing id " << hex_encode(id) << ", got " << describe(reply);
      return {};
    }
    auto error = decode_error((*reply)[4]);
    EXPECT_EQ(error.size(), 3u) << "ERROR body is not three strings: " << hex_encode((*reply)[4]);
    return error;
  }

  // (4) the same raw peer's next valid WORK is answered, and the first thing
  // that arrives is that answer; a client can still call the fake server.
  void expect_survives() {
    const int calls = handler_calls();
    const std::string id = fresh_id();
    send({"", V, id, WORK, work_body("add", 20, 22)});
    const auto reply = receive(2000ms);
    ASSERT_TRUE(reply) << "the victim no longer answers a valid WORK";
    EXPECT_EQ(*reply, (Frames{"", V, id, OK, packed(42)})) << describe(reply);
    EXPECT_EQ(handler_calls(), calls + 1);
    if (!is_client()) return;
    auto future = client_->async_call<int>("remote.mul", 6, 7);
    const auto work = raw_->receive(2000ms);
    ASSERT_TRUE(work) << "the client's call never reached the fake server";
    ASSERT_EQ(work->size(), 6u) << describe(work);
    EXPECT_EQ((*work)[0], client_rid_);
    EXPECT_EQ((*work)[2], V);
    EXPECT_EQ((*work)[4], WORK);
    EXPECT_EQ((*work)[5], work_body("remote.mul", 6, 7));
    send_routed(*raw_, (*work)[0], {"", V, (*work)[3], OK, packed(42)});
    EXPECT_EQ(get_within(future, 2000ms), 42);
  }

  // A call from the victim to the attacker, and the WORK as the attacker saw it.
  std::future<int> call_attacker(CallOptions options = {}) {
    return peer_->send_to(attacker_name()).async_call<int>("attacker.ping", options);
  }
  std::string receive_call_id() {
    const auto work = receive(2000ms);
    if (!work || work->size() != 5 || (*work)[1] != V || (*work)[3] != WORK) {
      ADD_FAILURE() << "expected a WORK from the victim, got " << describe(work);
      return {};
    }
    return (*work)[2];
  }

  // A second raw peer the victim is connected to ("intruder" / "other").
  void add_intruder() {
    if (is_client()) {
      intruder_ = std::make_unique<RawSocket>(*context_, zmq::socket_type::router, "other");
      intruder_->socket().set(zmq::sockopt::router_mandatory, 1);
      intruder_->socket().bind("tcp://127.0.0.1:*");
      client_->connect(intruder_->socket().get(zmq::sockopt::last_endpoint));
      const auto probe = intruder_->receive(bound);
      if (!probe || probe->size() != 2 || !(*probe)[1].empty()) {
        throw std::runtime_error("no probe from the client at the second endpoint: " + describe(probe));
      }
      intruder_rid_ = (*probe)[0];
      return;
    }
    intruder_ = std::make_unique<RawSocket>(*context_, zmq::socket_type::dealer, "intruder");
    intruder_->socket().connect(endpoint_);
    const std::string id = fresh_id();
    intruder_->send({"", V, id, WORK, work_body("add", 2, 2)});
    const auto reply = intruder_->receive(bound);
    if (!reply || *reply != Frames{"", V, id, OK, packed(4)}) {
      throw std::runtime_error("intruder not answered: " + describe(reply));
    }
    if (!eventually([&] { return stats().requests_handled == 2; }, 2000ms)) {
      throw std::runtime_error("intruder setup: requests_handled did not reach 2");
    }
  }
  void intruder_send(const Frames& frames) {
    if (is_client()) {
      send_routed(*intruder_, intruder_rid_, frames);
    } else {
      intruder_->send(frames);
    }
  }

  // Client role: after the client reconnected, learn its new routing id.
  void learn_client_route(std::chrono::milliseconds limit = bound) {
    const auto probe = raw_->receive(limit);
    if (!probe || probe->size() != 2 || !(*probe)[1].empty()) {
      throw std::runtime_error("no probe [rid, \"\"] from the client: " + describe(probe));
    }
    client_rid_ = (*probe)[0];
  }

 private:
  void register_handlers() {
    peer_->register_rpc("add", [this](int a, int b) {
      handler_calls_.fetch_add(1);
      return a + b;
    });
  }

  Role role_;
  std::shared_ptr<zmq::context_t> context_ = std::make_shared<zmq::context_t>();
  std::unique_ptr<Server> server_;
  std::unique_ptr<Client> client_;
  Peer* peer_ = nullptr;
  std::unique_ptr<RawSocket> raw_;
  std::unique_ptr<RawSocket> intruder_;
  std::string endpoint_;
  std::string client_rid_;
  std::string intruder_rid_;
  std::atomic<int> handler_calls_{0};
};

// Waits (bounded) until a counter reaches `expected` exactly.
#define EXPECT_COUNTER(arena, field, expected)                                                              \
  do {                                                                                                      \
    const auto expected_value = static_cast<std::uint64_t>(expected);                                      \
    EXPECT_TRUE(eventually([&] { return (arena).stats().field == expected_value; }, 2000ms))              \
        << #field << " is " << (arena).stats().field << ", expected " << expected_value;                   \
  } while (false)

// ---- frame sets that are dropped (no reply) and counted as malformed -------

struct FrameCase {
  std::string name;
  Frames frames;  // what follows the routing id
};

void PrintTo(const FrameCase& c, std::ostream* os) { *os << c.name; }

const std::string hostile_id = "hostile-id-00001";

Frames frames_of(std::size_t count) {
  Frames frames{"", V, hostile_id, WORK, valid_add};
  while (frames.size() < count) frames.push_back("extra");
  frames.resize(count);
  return frames;
}

std::vector<FrameCase> dropped_cases() {
  return {
      // Frame counts: WireFramesN is N frames after the routing id (the
      // receiver sees N + 1); the valid count is 5.
      {"WireFrames1_LoneBody", {valid_add}},
      {"WireFrames2", frames_of(2)},
      {"WireFrames3", frames_of(3)},
      {"WireFrames4_NoBody", frames_of(4)},
      {"WireFrames6", frames_of(6)},
      {"WireFrames7", frames_of(7)},
      {"WireFrames99", frames_of(99)},
      {"WireFrames100", frames_of(100)},
      {"MissingDelimiter", {V, hostile_id, WORK, valid_add}},
      {"NonEmptyDelimiter", {"x", V, hostile_id, WORK, valid_add}},
      // Versions.
      {"VersionEmpty", {"", "", hostile_id, WORK, valid_add}},
      {"VersionV2", {"", "v2", hostile_id, WORK, valid_add}},
      {"Version1KiB", {"", std::string(1024, 'v'), hostile_id, WORK, valid_add}},
      // Type frames.
      {"TypeFrameEmpty", {"", V, hostile_id, "", valid_add}},
      {"TypeFrameTwoBytes", {"", V, hostile_id, WORK + WORK, valid_add}},
      {"TypeByte00", {"", V, hostile_id, byte(0x00), valid_add}},
      {"TypeByte05", {"", V, hostile_id, byte(0x05), valid_add}},
      {"TypeByte07", {"", V, hostile_id, byte(0x07), valid_add}},
      {"TypeByte12", {"", V, hostile_id, byte(0x12), valid_add}},
      {"TypeByteFF", {"", V, hostile_id, byte(0xff), valid_add}},
      // Ids too long to echo.
      {"Id256Bytes", {"", V, std::string(256, 'i'), WORK, valid_add}},
      {"Id1MiB", {"", V, std::string(1024 * 1024, 'i'), WORK, valid_add}},
  };
}

class DroppedFrames : public ::testing::TestWithParam<std::tuple<Role, FrameCase>> {};

TEST_P(DroppedFrames, IsDroppedCountedAndThePeerSurvives) {
  const auto& [role, c] = GetParam();
  Arena arena(role, default_cap);
  const PeerStats before = arena.stats();
  const int calls = arena.handler_calls();

  arena.send(c.frames);
  arena.expect_no_reply();
  EXPECT_COUNTER(arena, malformed_messages, before.malformed_messages + 1);
  EXPECT_EQ(arena.handler_calls(), calls);

  ASSERT_NO_FATAL_FAILURE(arena.expect_survives());
  EXPECT_COUNTER(arena, requests_handled, before.requests_handled + 1);  // the valid WORK only
  EXPECT_EQ(arena.stats().malformed_messages, before.malformed_messages + 1);
  EXPECT_EQ(arena.stats().oversize_messages, before.oversize_messages);
  EXPECT_EQ(arena.stats().dropped_replies, before.dropped_replies);
}

INSTANTIATE_TEST_SUITE_P(Hostile, DroppedFrames, ::testing::Combine(all_roles, ::testing::ValuesIn(dropped_cases())),
                         [](const auto& info) {
                           return role_name(std::get<0>(info.param)) + "_" + std::get<1>(info.param).name;
                         });

// ---- unusual but valid ids: answered, echoing the id verbatim -------------

struct IdCase {
  std::string name;
  std::string id;
};

void PrintTo(const IdCase& c, std::ostream* os) { *os << c.name; }

class UnusualIds : public ::testing::TestWithParam<std::tuple<Role, IdCase>> {};

TEST_P(UnusualIds, WorkIsAnsweredEchoingTheId) {
  const auto& [role, c] = GetParam();
  Arena arena(role, default_cap);
  const PeerStats before = arena.stats();
  const int calls = arena.handler_calls();

  arena.send({"", V, c.id, WORK, valid_add});
  const auto reply = arena.receive(bound);
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, (Frames{"", V, c.id, OK, packed(3)})) << describe(reply);
  EXPECT_EQ(arena.handler_calls(), calls + 1);
  EXPECT_COUNTER(arena, requests_handled, before.requests_handled + 1);
  EXPECT_EQ(arena.stats().malformed_messages, before.malformed_messages);

  ASSERT_NO_FATAL_FAILURE(arena.expect_survives());
}

INSTANTIATE_TEST_SUITE_P(Hostile, UnusualIds,
                         ::testing::Combine(all_roles, ::testing::Values(IdCase{"EmptyId", ""},
                                                                         IdCase{"ThreeByteId", "\x01\xfe" "a"},
                                                                         IdCase{"BinaryId255Bytes",
                                                                                std::string(255, '\0')})),
                         [](const auto& info) {
                           return role_name(std::get<0>(info.param)) + "_" + std::get<1>(info.param).name;
                         });

// ---- WORK bodies refused with a typed ERROR --------------------------------

struct BodyCase {
  std::string name;
  std::string body;
  std::string error_class;
  std::string message;  // exact message, or empty: not checked
  bool bomb = false;    // answered within bomb_deadline, no memory blow-up
};

void PrintTo(const BodyCase& c, std::ostream* os) { *os << c.name; }

std::vector<BodyCase> refused_cases() {
  std::vector<BodyCase> cases;
  // Every strict prefix of a valid WORK body.
  for (std::size_t n = 0; n < valid_add.size(); ++n) {
    cases.push_back({"TruncatedPrefix" + std::to_string(n), valid_add.substr(0, n), "ValueError", ""});
  }
  const auto hex = hex_decode;
  std::string nested;
  for (int i = 0; i < 64; ++i) nested += hex("dcffff");
  std::string deep = hex("93a3616464") + std::string(100000, '\x91') + hex("c0" "80");
  const std::vector<BodyCase> fixed{
      {"UndecodableC1", hex("c1"), "ValueError", ""},
      {"UndecodableC1InsideArgs", hex("93a3616464" "9201c1" "80"), "ValueError", ""},
      {"TrailingBytes", valid_add + hex("00"), "ValueError", ""},
      // Wrong shapes.
      {"NotAnArrayStr", hex("a3616464"), "TypeError", ""},
      {"NotAnArrayMap", hex("81a16101"), "TypeError", ""},
      {"NotAnArrayNil", hex("c0"), "TypeError", ""},
      {"EmptyArray", hex("90"), "TypeError", ""},
      {"TwoElements", hex("92a3616464920102"), "TypeError", ""},
      {"FourElements", hex("94a3616464920102" "80" "80"), "TypeError", ""},
      {"NameAsInt", hex("9301920102" "80"), "TypeError", ""},
      {"NameAsNil", hex("93c0920102" "80"), "TypeError", ""},
      {"NameAsBin", hex("93c403616464920102" "80"), "ServiceNotFoundError", "b'add'"},
      // Python pseud spreads an args map's keys as positional arguments;
      // pseud++ refuses anything but an array (wire/bodies.cpp decode_work).
      {"ArgsAsMap", hex("93a3616464" "82a16101a16202" "80"), "TypeError", ""},
      {"ArgsAsInt", hex("93a3616464" "01" "80"), "TypeError", ""},
      {"KwargsNil", hex("93a3616464920102c0"), "TypeError", ""},
      {"KwargsArray", hex("93a3616464920102" "90"), "TypeError", ""},
      {"KwargsIntKeys", hex("93a3616464" "90" "810102"), "TypeError", "keywords must be strings"},
      {"KwargsBinKeys", hex("93a3616464" "90" "81c4016101"), "TypeError", "keywords must be strings"},
      // Allocation bombs: declared sizes far beyond the body.
      {"BombArray32", hex("ddffffffff"), "ValueError", "", true},
      {"BombMap32", hex("dfffffffff"), "ValueError", "", true},
      {"BombStr32", hex("dbffffffff"), "ValueError", "", true},
      {"BombBin32", hex("c6ffffffff"), "ValueError", "", true},
      {"BombExt32", hex("c9ffffffff01"), "ValueError", "", true},
      {"BombNestedArray16x64", nested, "ValueError", "", true},
      {"BombArray32InsideArgs", hex("93a3616464" "ddffffffff" "80"), "ValueError", "", true},
      // 100 000-deep nesting as WORK args.
      {"ArgsNested100000Deep", deep, "ValueError", "", true},
  };
  cases.insert(cases.end(), fixed.begin(), fixed.end());
  return cases;
}

class RefusedWork : public ::testing::TestWithParam<std::tuple<Role, BodyCase>> {};

TEST_P(RefusedWork, IsAnsweredWithTypedErrorAndThePeerSurvives) {
  const auto& [role, c] = GetParam();
  Arena arena(role, default_cap);
  const PeerStats before = arena.stats();
  const int calls = arena.handler_calls();
  const std::string id = fresh_id();

  const long rss_before = status_kib("VmRSS:");
  const bool peak_reset = c.bomb && reset_peak_rss();
  const auto start = std::chrono::steady_clock::now();
  arena.send({"", V, id, WORK, c.body});
  const auto error = arena.expect_error_reply(id);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(error.size(), 3u);
  EXPECT_EQ(error[0], c.error_class) << "message: " << error[1];
  if (!c.message.empty()) {
    EXPECT_EQ(error[1], c.message);
  }
  if (c.bomb) {
    EXPECT_LT(took, bomb_deadline);
    const long after = status_kib(peak_reset ? "VmHWM:" : "VmRSS:");
    EXPECT_LT(after - rss_before, 64 * 1024) << "memory grew by " << (after - rss_before) << " KiB";
  }
  EXPECT_COUNTER(arena, malformed_messages, before.malformed_messages + 1);
  EXPECT_COUNTER(arena, requests_handled, before.requests_handled + 1);
  EXPECT_EQ(arena.handler_calls(), calls);

  ASSERT_NO_FATAL_FAILURE(arena.expect_survives());
  EXPECT_EQ(arena.stats().malformed_messages, before.malformed_messages + 1);
}

INSTANTIATE_TEST_SUITE_P(Hostile, RefusedWork, ::testing::Combine(all_roles, ::testing::ValuesIn(refused_cases())),
                         [](const auto& info) {
                           return role_name(std::get<0>(info.param)) + "_" + std::get<1>(info.param).name;
                         });

// ---- valid messages a peer without authentication ignores -----------------

std::vector<FrameCase> ignored_cases() {
  return {
      {"HelloWithoutAuth", {"", V, hostile_id, HELLO, hex_decode("92c4046a6f686ec40773336372657421")}},
      {"HelloGarbageBody", {"", V, hostile_id, HELLO, hex_decode("c1ff")}},
      {"HeartbeatGarbageBody", {"", V, "", HEARTBEAT, hex_decode("c1ffdd") + "garbage"}},
      {"HeartbeatGarbageIdAndBody", {"", V, "xyz", HEARTBEAT, std::string(1000, '\xc1')}},
  };
}

class IgnoredMessages : public ::testing::TestWithParam<std::tuple<Role, FrameCase>> {};

TEST_P(IgnoredMessages, GetNoReplyAndThePeerSurvives) {
  const auto& [role, c] = GetParam();
  Arena arena(role, default_cap);
  const PeerStats before = arena.stats();
  const int calls = arena.handler_calls();

  arena.send(c.frames);
  arena.expect_no_reply();
  EXPECT_EQ(arena.handler_calls(), calls);

  ASSERT_NO_FATAL_FAILURE(arena.expect_survives());
  EXPECT_COUNTER(arena, requests_handled, before.requests_handled + 1);  // the valid WORK only
  EXPECT_EQ(arena.stats().malformed_messages, before.malformed_messages);
  EXPECT_EQ(arena.stats().dropped_replies, before.dropped_replies);
}

INSTANTIATE_TEST_SUITE_P(Hostile, IgnoredMessages, ::testing::Combine(all_roles, ::testing::ValuesIn(ignored_cases())),
                         [](const auto& info) {
                           return role_name(std::get<0>(info.param)) + "_" + std::get<1>(info.param).name;
                         });

// AUTHENTICATED answers a HELLO: for no waiting call it is an unsolicited reply.
class UnsolicitedAuthenticated : public ::testing::TestWithParam<Role> {};

TEST_P(UnsolicitedAuthenticated, IsDroppedAndCounted) {
  Arena arena(GetParam(), default_cap);
  const PeerStats before = arena.stats();
  const int calls = arena.handler_calls();

  arena.send({"", V, hostile_id, AUTHENTICATED, "Welcome b'john'"});
  arena.expect_no_reply();
  EXPECT_EQ(arena.handler_calls(), calls);
  EXPECT_COUNTER(arena, dropped_replies, before.dropped_replies + 1);

  ASSERT_NO_FATAL_FAILURE(arena.expect_survives());
  EXPECT_EQ(arena.stats().malformed_messages, before.malformed_messages);
}

INSTANTIATE_TEST_SUITE_P(Hostile, UnsolicitedAuthenticated, all_roles,
                         [](const auto& info) { return role_name(info.param); });

// ---- OK / ERROR / UNAUTHORIZED for no waiting call -------------------------

class Replies : public ::testing::TestWithParam<Role> {
 protected:
  // Sends an unsolicited reply and checks it is dropped and counted.
  void expect_unsolicited_dropped(const Frames& frames) {
    Arena arena(GetParam(), default_cap);
    const PeerStats before = arena.stats();
    const int calls = arena.handler_calls();
    arena.send(frames);
    arena.expect_no_reply();
    EXPECT_COUNTER(arena, dropped_replies, before.dropped_replies + 1);
    EXPECT_EQ(arena.stats().malformed_messages, before.malformed_messages);
    EXPECT_EQ(arena.stats().replies_received, before.replies_received);
    EXPECT_EQ(arena.handler_calls(), calls);
    ASSERT_NO_FATAL_FAILURE(arena.expect_survives());
    EXPECT_EQ(arena.stats().dropped_replies, before.dropped_replies + 1);
  }
};

INSTANTIATE_TEST_SUITE_P(Hostile, Replies, all_roles, [](const auto& info) { return role_name(info.param); });

TEST_P(Replies, UnsolicitedOkIsDroppedAndCounted) { expect_unsolicited_dropped({"", V, fresh_id(), OK, packed(1)}); }

TEST_P(Replies, UnsolicitedErrorIsDroppedAndCounted) {
  expect_unsolicited_dropped({"", V, fresh_id(), ERROR, error_body("ValueError", "boom")});
}

TEST_P(Replies, UnsolicitedUnauthorizedIsDroppedAndCounted) {
  expect_unsolicited_dropped({"", V, fresh_id(), UNAUTHORIZED, "Authentication Required"});
}

TEST_P(Replies, UnsolicitedOkWithEmptyIdIsDroppedAndCounted) { expect_unsolicited_dropped({"", V, "", OK, packed(1)}); }

TEST_P(Replies, UnsolicitedOkWithThreeByteIdIsDroppedAndCounted) {
  expect_unsolicited_dropped({"", V, "abc", OK, packed(1)});
}

TEST_P(Replies, UnsolicitedOkWithUndecodableBodyIsDroppedAndCounted) {
  expect_unsolicited_dropped({"", V, fresh_id(), OK, hex_decode("c1ddffffffff")});
}

TEST_P(Replies, DuplicateOkIsDroppedAndCounted) {
  Arena arena(GetParam(), default_cap);
  const PeerStats before = arena.stats();
  auto future = arena.call_attacker();
  const std::string id = arena.receive_call_id();
  ASSERT_FALSE(id.empty());
  arena.send({"", V, id, OK, packed(5)});
  arena.send({"", V, id, OK, packed(6)});
  EXPECT_EQ(get_within(future, 2000ms), 5);
  EXPECT_COUNTER(arena, dropped_replies, before.dropped_replies + 1);
  EXPECT_COUNTER(arena, replies_received, before.replies_received + 1);
  EXPECT_EQ(arena.stats().pending_calls, 0u);
  arena.expect_no_reply();
  ASSERT_NO_FATAL_FAILURE(arena.expect_survives());
}

TEST_P(Replies, ErrorAfterOkIsDroppedAndCounted) {
  Arena arena(GetParam(), default_cap);
  const PeerStats before = arena.stats();
  auto future = arena.call_attacker();
  const std::string id = arena.receive_call_id();
  ASSERT_FALSE(id.empty());
  arena.send({"", V, id, OK, packed(5)});
  arena.send({"", V, id, ERROR, error_body("ValueError", "too late")});
  EXPECT_EQ(get_within(future, 2000ms), 5);
  EXPECT_COUNTER(arena, dropped_replies, before.dropped_replies + 1);
  EXPECT_EQ(arena.stats().pending_calls, 0u);
  arena.expect_no_reply();
  ASSERT_NO_FATAL_FAILURE(arena.expect_survives());
}

TEST_P(Replies, LateReplyAfterTimeoutIsDroppedAndCounted) {
  Arena arena(GetParam(), default_cap);
  const PeerStats before = arena.stats();
  auto future = arena.call_attacker(CallOptions{.timeout = 50ms});
  const std::string id = arena.receive_call_id();
  ASSERT_FALSE(id.empty());
  EXPECT_THROW(get_within(future, 2000ms), TimeoutError);
  arena.send({"", V, id, OK, packed(5)});
  EXPECT_COUNTER(arena, dropped_replies, before.dropped_replies + 1);
  EXPECT_EQ(arena.stats().replies_received, before.replies_received);
  EXPECT_EQ(arena.stats().pending_calls, 0u);
  arena.expect_no_reply();
  ASSERT_NO_FATAL_FAILURE(arena.expect_survives());
}

TEST_P(Replies, ReplyFromAnotherPeerIsDroppedAndTheRealReplyStillCounts) {
  Arena arena(GetParam(), default_cap);
  arena.add_intruder();
  const PeerStats before = arena.stats();
  auto future = arena.call_attacker();
  const std::string id = arena.receive_call_id();
  ASSERT_FALSE(id.empty());
  arena.intruder_send({"", V, id, OK, packed(666)});
  EXPECT_COUNTER(arena, dropped_replies, before.dropped_replies + 1);
  EXPECT_EQ(future.wait_for(0ms), std::future_status::timeout) << "the intruder's reply completed the call";
  arena.send({"", V, id, OK, packed(5)});
  EXPECT_EQ(get_within(future, 2000ms), 5);
  EXPECT_COUNTER(arena, replies_received, before.replies_received + 1);
  EXPECT_EQ(arena.stats().pending_calls, 0u);
  ASSERT_NO_FATAL_FAILURE(arena.expect_survives());
}

// ---- messages over PeerOptions::max_message_size ---------------------------

class Oversize : public ::testing::TestWithParam<Role> {};

INSTANTIATE_TEST_SUITE_P(Hostile, Oversize, all_roles, [](const auto& info) { return role_name(info.param); });

// One 100 KiB frame with a 64 KiB cap: ZMQ_MAXMSGSIZE is per frame, so
// libzmq drops that connection before the engine sees anything; the peer
// reconnects and is served again.
TEST_P(Oversize, SingleFrameOverTheCapDropsTheConnectionAndThePeerReconnects) {
  Arena arena(GetParam(), small_cap);
  std::unique_ptr<Client> bystander;
  if (!arena.is_client()) {
    bystander = std::make_unique<Client>("server");
    bystander->connect(arena.endpoint());
    ASSERT_EQ(bystander->call<int>("add", 1, 2, CallOptions{.timeout = 2s}), 3);
    ASSERT_TRUE(eventually([&] { return arena.stats().requests_handled == 2; }, 2000ms));
  }
  const PeerStats before = arena.stats();
  const int calls = arena.handler_calls();
  Monitor monitor(arena.context(), arena.raw().socket());

  arena.send({"", V, fresh_id(), WORK, padded_work_body(100 * 1024)});
  EXPECT_TRUE(monitor.wait_for(ZMQ_EVENT_DISCONNECTED, 2000ms)) << "the oversize frame did not drop the connection";
  if (arena.is_client()) {
    // The client must reconnect (with a new anonymous routing id) and probe
    // again. libzmq treats an oversize frame as a protocol error and never
    // reconnects that endpoint by itself (4.3.4), so this is the library's job.
    try {
      arena.learn_client_route(2000ms);
    } catch (const std::exception& e) {
      std::string outcome = "call succeeded";
      try {
        arena.victim().send_to("server").call<int>("remote.ping", CallOptions{.timeout = 300ms});
      } catch (const std::exception& call_error) {
        outcome = call_error.what();
      }
      FAIL() << "the client never reconnected to its server after the oversize frame (" << e.what()
             << "); a call to the server now fails with: " << outcome;
    }
  } else {
    EXPECT_TRUE(monitor.wait_for(ZMQ_EVENT_HANDSHAKE_SUCCEEDED, bound)) << "the raw peer did not reconnect";
  }
  arena.expect_no_reply();
  EXPECT_EQ(arena.handler_calls(), calls);
  EXPECT_EQ(arena.stats().requests_handled, before.requests_handled);
  EXPECT_EQ(arena.stats().malformed_messages, before.malformed_messages);

  ASSERT_NO_FATAL_FAILURE(arena.expect_survives());
  if (bystander) {
    EXPECT_EQ(bystander->call<int>("add", 2, 3, CallOptions{.timeout = 2s}), 5);
  }
}

// Six frames, each under the cap, together over it, forming a valid WORK
// envelope: refused by the library and answered with ValueError.
TEST_P(Oversize, WorkOverTheCapInFramesUnderTheCapIsAnsweredWithError) {
  Arena arena(GetParam(), small_cap);
  const PeerStats before = arena.stats();
  const int calls = arena.handler_calls();
  const std::string id = fresh_id();
  // The receiver counts the routing id too ("attacker" or "server"), so a
  // body 8 bytes under the cap puts the total over it.
  arena.send({"", V, id, WORK, padded_work_body(small_cap - 8)});
  const auto error = arena.expect_error_reply(id);
  ASSERT_EQ(error.size(), 3u);
  EXPECT_EQ(error[0], "ValueError");
  EXPECT_NE(error[1].find("exceeds the limit"), std::string::npos) << error[1];
  EXPECT_COUNTER(arena, oversize_messages, before.oversize_messages + 1);
  EXPECT_EQ(arena.stats().malformed_messages, before.malformed_messages);
  EXPECT_EQ(arena.handler_calls(), calls);

  ASSERT_NO_FATAL_FAILURE(arena.expect_survives());
  EXPECT_EQ(arena.stats().oversize_messages, before.oversize_messages + 1);
}

// Large frames over the cap in total that are no WORK envelope: dropped, counted.
TEST_P(Oversize, NonWorkOverTheCapInFramesUnderTheCapIsDroppedAndCounted) {
  Arena arena(GetParam(), small_cap);
  const PeerStats before = arena.stats();
  const int calls = arena.handler_calls();
  arena.send({std::string(40000, 'd'), V, fresh_id(), WORK, padded_work_body(40000)});
  arena.expect_no_reply();
  EXPECT_COUNTER(arena, oversize_messages, before.oversize_messages + 1);
  EXPECT_EQ(arena.handler_calls(), calls);

  ASSERT_NO_FATAL_FAILURE(arena.expect_survives());
  EXPECT_COUNTER(arena, requests_handled, before.requests_handled + 1);  // counted just after the reply leaves
}

// Many frames under the cap, over it in total and in count: dropped, counted once.
TEST_P(Oversize, ManyFramesOverTheCapAreDroppedAndCountedOnce) {
  Arena arena(GetParam(), small_cap);
  const PeerStats before = arena.stats();
  const int calls = arena.handler_calls();
  Frames frames{"", V, fresh_id(), WORK, valid_add};
  for (int i = 0; i < 10; ++i) frames.push_back(std::string(10000, 'f'));
  arena.send(frames);
  arena.expect_no_reply();
  EXPECT_TRUE(eventually([&] {
    const auto s = arena.stats();
    return s.malformed_messages + s.oversize_messages == before.malformed_messages + before.oversize_messages + 1;
  }, 2000ms));
  EXPECT_EQ(arena.handler_calls(), calls);

  ASSERT_NO_FATAL_FAILURE(arena.expect_survives());
  const auto s = arena.stats();
  EXPECT_EQ(s.malformed_messages + s.oversize_messages, before.malformed_messages + before.oversize_messages + 1);
}

// ---- REQ peers: answered exactly once per request --------------------------

class ReqArena {
 public:
  ReqArena() {
    server_ = std::make_unique<Server>("server", PeerOptions{.parent_registry = nullptr, .context = context_});
    server_->register_rpc("add", [this](int a, int b) {
      handler_calls_.fetch_add(1);
      return a + b;
    });
    req_ = std::make_unique<RawSocket>(*context_, zmq::socket_type::req);
    req_->socket().connect(server_->bind("tcp://127.0.0.1:*"));
  }
  ~ReqArena() {
    req_.reset();
    server_.reset();
  }

  Server& server() { return *server_; }
  RawSocket& req() { return *req_; }
  int handler_calls() const { return handler_calls_.load(); }

  // A valid WORK from the REQ gets exactly one OK.
  void expect_valid_work_answered(int a, int b) {
    const PeerStats before = server_->stats();
    const int calls = handler_calls();
    const std::string id = fresh_id();
    req_->send({V, id, WORK, work_body("add", a, b)});
    const auto reply = req_->receive(2000ms);
    ASSERT_TRUE(reply) << "the REQ peer got no reply to a valid WORK";
    EXPECT_EQ(*reply, (Frames{V, id, OK, packed(a + b)})) << describe(reply);
    EXPECT_EQ(handler_calls(), calls + 1);
    EXPECT_COUNTER(*server_, requests_handled, before.requests_handled + 1);
  }

 private:
  std::shared_ptr<zmq::context_t> context_ = std::make_shared<zmq::context_t>();
  std::unique_ptr<Server> server_;
  std::unique_ptr<RawSocket> req_;
  std::atomic<int> handler_calls_{0};
};

TEST(ReqPeer, ValidWorkIsAnsweredExactlyOnce) {
  ReqArena arena;
  const PeerStats before = arena.server().stats();
  ASSERT_NO_FATAL_FAILURE(arena.expect_valid_work_answered(1, 2));
  ASSERT_NO_FATAL_FAILURE(arena.expect_valid_work_answered(3, 4));
  // A duplicate answer to the first request would have been counted before the second one.
  EXPECT_EQ(arena.server().stats().requests_handled, before.requests_handled + 2);
  EXPECT_EQ(arena.server().stats().unroutable_replies, 0u);
  EXPECT_EQ(arena.server().stats().malformed_messages, before.malformed_messages);
}

struct ReqCase {
  std::string name;
  std::string version;
  std::string type;
  std::string body;
};

void PrintTo(const ReqCase& c, std::ostream* os) { *os << c.name; }

class ReqHostile : public ::testing::TestWithParam<ReqCase> {};

TEST_P(ReqHostile, IsAnsweredExactlyOnceWithValueErrorAndTheReqPeerSurvives) {
  const ReqCase& c = GetParam();
  ReqArena arena;
  ASSERT_NO_FATAL_FAILURE(arena.expect_valid_work_answered(1, 1));
  const PeerStats before = arena.server().stats();
  const int calls = arena.handler_calls();
  const std::string id = fresh_id();

  arena.req().send({c.version, id, c.type, c.body});
  const auto reply = arena.req().receive(2000ms);
  ASSERT_TRUE(reply) << "the REQ peer got no reply: it would be stuck forever";
  ASSERT_EQ(reply->size(), 4u) << describe(reply);
  EXPECT_EQ((*reply)[0], V);
  EXPECT_EQ((*reply)[1], id);
  EXPECT_EQ((*reply)[2], ERROR);
  const auto error = decode_error((*reply)[3]);
  ASSERT_EQ(error.size(), 3u);
  EXPECT_EQ(error[0], "ValueError") << error[1];
  EXPECT_COUNTER(arena.server(), malformed_messages, before.malformed_messages + 1);
  EXPECT_COUNTER(arena.server(), requests_handled, before.requests_handled + 1);
  EXPECT_EQ(arena.handler_calls(), calls);

  // REQ strictly alternates: it can only send again because it got exactly one answer.
  ASSERT_NO_FATAL_FAILURE(arena.expect_valid_work_answered(2, 3));
  EXPECT_EQ(arena.server().stats().requests_handled, before.requests_handled + 2);
  EXPECT_EQ(arena.server().stats().unroutable_replies, 0u);
}

INSTANTIATE_TEST_SUITE_P(Hostile, ReqHostile,
                         ::testing::Values(ReqCase{"VersionV2", "v2", WORK, valid_add},
                                           ReqCase{"VersionEmpty", "", WORK, valid_add},
                                           ReqCase{"TypeFrameTwoBytes", V, WORK + WORK, valid_add},
                                           ReqCase{"TypeByte07", V, byte(0x07), valid_add},
                                           ReqCase{"UndecodableBody", V, WORK, hex_decode("c1")},
                                           ReqCase{"BombArray32", V, WORK, hex_decode("ddffffffff")}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace pseud::test
