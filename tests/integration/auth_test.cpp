// Authentication backends end to end: each carries real calls both ways;
// refused handshakes fail fast with a typed error; untrusted_curve's in-band
// exchange as pseud does it; routing-id takeover; predicates fed by
// authentication; run-time registration and shared-object plugins.

#include <atomic>
#include <optional>

#include <gtest/gtest.h>
#include <msgpack.hpp>

#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

using Clock = std::chrono::steady_clock;

// Password hashing at the interactive cost takes ~0.1 s a user: tests use the minimal one.
const std::pair<std::string, std::string> cheap_hash{"hash_cost", "minimal"};

struct Keys {
  CurveKeyPair server = generate_curve_keypair();
  CurveKeyPair alice = generate_curve_keypair();
  CurveKeyPair bob = generate_curve_keypair();
};

PeerOptions with_auth(std::string name, Settings settings) {
  PeerOptions options;
  options.auth = {std::move(name), std::move(settings)};
  return options;
}

// A server with `whoami` (the caller's identity) and `ping`, bound on loopback.
struct Service {
  explicit Service(const PeerOptions& options) : server("server", options) {
    server.register_rpc("whoami", [this](const std::string& identity) {
      ++calls;
      return identity;
    }, {.with_identity = true});
    server.register_rpc("ping", [this] {
      ++calls;
      return std::string("pong");
    });
    endpoint = server.bind("tcp://127.0.0.1:*");
  }
  Server server;
  std::string endpoint;
  std::atomic<int> calls{0};
};

// A connected client offering `name_of_client`.
std::unique_ptr<Client> client_of(const Service& service, PeerOptions options, const std::string& name = "client") {
  auto client = std::make_unique<Client>("server", std::move(options));
  client->register_rpc("name_of_client", [name] { return name; });
  client->connect(service.endpoint);
  return client;
}

// Both directions: the client calls in, the server calls back by the user it authenticated.
void expect_calls_both_ways(Service& service, Client& client, const std::string& user) {
  EXPECT_EQ(client.call<std::string>("whoami"), user);
  EXPECT_EQ(service.server.send_to(user).call<std::string>("name_of_client"), "client");
}

// ---- each backend carries calls both ways --------------------------------------

TEST(Backends, NoopCarriesCallsBothWays) {
  Service service(PeerOptions{});
  auto client = client_of(service, PeerOptions{.routing_id = "carol"});
  expect_calls_both_ways(service, *client, "carol");
}

TEST(Backends, PlainCarriesCallsBothWaysWithTheLoginAsUserId) {
  Service service(with_auth("plain", {{"user", "alice=s3cret!"}, cheap_hash, {"encrypted_link", "true"}}));
  auto client = client_of(service, with_auth("plain", {{"login", "alice"}, {"password", "s3cret!"}, {"encrypted_link", "true"}}));
  expect_calls_both_ways(service, *client, "alice");
}

TEST(Backends, TrustedCurveCarriesCallsBothWaysWithTheTrustedName) {
  Keys keys;
  Service service(with_auth("trusted_curve", {{"secret_key", keys.server.secret_key},
                                              {"public_key", keys.server.public_key},
                                              {"trust", "alice=" + keys.alice.public_key}}));
  auto client = client_of(service, with_auth("trusted_curve", {{"server_public_key", keys.server.public_key},
                                                              {"public_key", keys.alice.public_key},
                                                              {"secret_key", keys.alice.secret_key}}));
  expect_calls_both_ways(service, *client, "alice");
}

TEST(Backends, UntrustedCurveCarriesCallsBothWaysAfterTheInBandLogin) {
  Keys keys;
  Service service(with_auth("untrusted_curve", {{"secret_key", keys.server.secret_key}, {"user", "john=s3cret!"}, cheap_hash}));
  auto client = client_of(service, with_auth("untrusted_curve", {{"server_public_key", keys.server.public_key},
                                                                {"login", "john"},
                                                                {"password", "s3cret!"}}));
  expect_calls_both_ways(service, *client, "john");
  EXPECT_EQ(service.calls.load(), 1);  // the retried WORK ran once
}

// ---- refused handshakes fail fast with a typed error ---------------------------

TEST(Handshake, PlainWrongPasswordIsAHandshakeErrorWithinOneSecond) {
  Service service(with_auth("plain", {{"user", "alice=right"}, cheap_hash, {"encrypted_link", "true"}}));
  auto client = client_of(service, with_auth("plain", {{"login", "alice"}, {"password", "wrong"}, {"encrypted_link", "true"}}));
  EXPECT_LT(time_handshake_error([&] { client->call<std::string>("ping", CallOptions{.timeout = 5s}); }), 1s);
  EXPECT_EQ(service.calls.load(), 0);
}

TEST(Handshake, UnknownCurveKeyIsAHandshakeErrorWithinOneSecond) {
  Keys keys;
  Service service(with_auth("trusted_curve", {{"secret_key", keys.server.secret_key}, {"trust", "alice=" + keys.alice.public_key}}));
  auto client = client_of(service, with_auth("trusted_curve", {{"server_public_key", keys.server.public_key},
                                                              {"public_key", keys.bob.public_key},
                                                              {"secret_key", keys.bob.secret_key}}));
  EXPECT_LT(time_handshake_error([&] { client->call<std::string>("ping", CallOptions{.timeout = 5s}); }), 1s);
  EXPECT_EQ(service.calls.load(), 0);
}

TEST(Handshake, WrongServerKeyIsAHandshakeErrorWithinOneSecond) {
  Keys keys;
  Service service(with_auth("trusted_curve", {{"secret_key", keys.server.secret_key}, {"trust", "alice=" + keys.alice.public_key}}));
  const CurveKeyPair impostor = generate_curve_keypair();
  auto client = client_of(service, with_auth("trusted_curve", {{"server_public_key", impostor.public_key},
                                                              {"public_key", keys.alice.public_key},
                                                              {"secret_key", keys.alice.secret_key}}));
  EXPECT_LT(time_handshake_error([&] { client->call<std::string>("ping", CallOptions{.timeout = 5s}); }), 1s);
  EXPECT_EQ(service.calls.load(), 0);
}

TEST(Handshake, NullClientAgainstACurveServerIsAHandshakeError) {
  Keys keys;
  Service service(with_auth("trusted_curve", {{"secret_key", keys.server.secret_key}, {"trust", "alice=" + keys.alice.public_key}}));
  auto client = client_of(service, PeerOptions{});
  EXPECT_LT(time_handshake_error([&] { client->call<std::string>("ping", CallOptions{.timeout = 5s}); }), 1s);
  EXPECT_EQ(service.calls.load(), 0);
}

// ---- keys are checked when configured ------------------------------------------

TEST(Configuration, BadKeysAndSettingsAreRefusedAtConstruction) {
  Keys keys;
  const std::string zero(40, '0');
  EXPECT_THROW(Server("s", with_auth("trusted_curve", {{"secret_key", zero}, {"trust", "a=" + keys.alice.public_key}})), UsageError);
  EXPECT_THROW(Server("s", with_auth("trusted_curve", {{"secret_key", keys.server.secret_key.substr(1)}, {"trust", "a=" + keys.alice.public_key}})), UsageError);
  EXPECT_THROW(Server("s", with_auth("trusted_curve", {{"secret_key", keys.server.secret_key}, {"trust", "a=" + zero}})), UsageError);
  EXPECT_THROW(Server("s", with_auth("trusted_curve", {{"secret_key", keys.server.secret_key}, {"public_key", keys.alice.public_key}, {"trust", "a=" + keys.alice.public_key}})), UsageError);
  EXPECT_THROW(Server("s", with_auth("trusted_curve", {{"secret_key", keys.server.secret_key}})), UsageError);
  EXPECT_THROW(Client("s", with_auth("trusted_curve", {{"server_public_key", "not a key"}, {"public_key", keys.alice.public_key}, {"secret_key", keys.alice.secret_key}})), UsageError);
  EXPECT_THROW(Server("s", with_auth("plain", {cheap_hash})), UsageError);
  EXPECT_THROW(Server("s", with_auth("plain", {{"user", "no-equals-sign"}})), UsageError);
  EXPECT_THROW(Client("s", with_auth("plain", {{"login", "alice"}})), UsageError);
  try {
    Server("s", with_auth("kerberos", {}));
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("untrusted_curve"), std::string::npos) << "lists the known backends: " << e.what();
  }
}

TEST(Configuration, TwoCurveServersShareOneContext) {
  Keys keys;
  const auto options = with_auth("trusted_curve", {{"secret_key", keys.server.secret_key}, {"trust", "alice=" + keys.alice.public_key}});
  Service first(options);
  Service second(options);
  const auto client_options = with_auth("trusted_curve", {{"server_public_key", keys.server.public_key},
                                                          {"public_key", keys.alice.public_key},
                                                          {"secret_key", keys.alice.secret_key}});
  auto a = client_of(first, client_options);
  auto b = client_of(second, client_options);
  EXPECT_EQ(a->call<std::string>("whoami"), "alice");
  EXPECT_EQ(b->call<std::string>("whoami"), "alice");
}

// ---- untrusted_curve, as pseud does it -----------------------------------------

class UntrustedCurve : public ::testing::Test {
 protected:
  PeerOptions client_options(const std::string& password, const CurveKeyPair& own) {
    return with_auth("untrusted_curve", {{"server_public_key", keys_.server.public_key},
                                         {"public_key", own.public_key},
                                         {"secret_key", own.secret_key},
                                         {"login", "john"},
                                         {"password", password}});
  }

  Keys keys_;
  Service service_{with_auth("untrusted_curve",
                             {{"secret_key", keys_.server.secret_key}, {"user", "john=s3cret!"}, cheap_hash,
                              {"permission", "john=admin"}})};
};

TEST_F(UntrustedCurve, WrongPasswordEndsInUnauthorizedAfterTwoTries) {
  auto client = client_of(service_, client_options("wrong", keys_.alice));
  try {
    client->call<std::string>("ping");
    FAIL() << "expected UnauthorizedError";
  } catch (const UnauthorizedError& e) {
    EXPECT_EQ(e.message(), "Max authentication retries reached");
  }
  EXPECT_EQ(service_.calls.load(), 0);
}

TEST_F(UntrustedCurve, TheLoginIsBoundToTheConnectionAndKey) {
  auto client = client_of(service_, client_options("s3cret!", keys_.alice));
  EXPECT_EQ(client->call<std::string>("whoami"), "john");
  EXPECT_EQ(client->call<std::string>("whoami"), "john");  // no second exchange
  EXPECT_EQ(service_.calls.load(), 2);
  // The key is trusted now: a new connection with it is authenticated at once.
  auto again = client_of(service_, client_options("irrelevant now", keys_.alice));
  EXPECT_EQ(again->call<std::string>("whoami"), "john");
}

TEST_F(UntrustedCurve, ConcurrentCallsAllSucceedAfterOneLogin) {
  auto client = client_of(service_, client_options("s3cret!", keys_.alice));
  std::vector<std::future<std::string>> calls;
  for (int i = 0; i < 20; ++i) calls.push_back(client->async_call<std::string>("ping"));
  for (auto& call : calls) EXPECT_EQ(get_within(call), "pong");
  EXPECT_EQ(service_.calls.load(), 20);
}

// A raw CURVE DEALER speaking the wire by hand (a fresh key unless given one).
class RawCurvePeer {
 public:
  RawCurvePeer(const std::string& server_public, const std::string& endpoint,
               const CurveKeyPair& own = generate_curve_keypair(), const std::string& routing_id = {})
      : raw_(*context_, zmq::socket_type::dealer, routing_id) {
    raw_.socket().set(zmq::sockopt::curve_serverkey, server_public);
    raw_.socket().set(zmq::sockopt::curve_publickey, own.public_key);
    raw_.socket().set(zmq::sockopt::curve_secretkey, own.secret_key);
    raw_.socket().connect(endpoint);
  }
  RawSocket& socket() { return raw_; }

 private:
  std::unique_ptr<zmq::context_t> context_ = std::make_unique<zmq::context_t>();
  RawSocket raw_;  // after context_: closed before it
};

TEST_F(UntrustedCurve, UnauthenticatedWorkGetsUnauthorizedWithin100ms) {
  RawCurvePeer raw(keys_.server.public_key, service_.endpoint);
  raw.socket().send({"", "v1", "", "\x06", ""});  // completes the CURVE handshake first
  ASSERT_TRUE(raw.socket().receive(2s).has_value());
  // The fastest of three: one round trip on a loaded 2-core machine can lose
  // 100 ms to the scheduler (seen once in 20 runs), which says nothing of the server.
  auto took = Clock::duration::max();
  std::optional<Frames> reply;
  for (int i = 0; i < 3; ++i) {
    const auto start = Clock::now();
    raw.socket().send({"", "v1", "0123456789abcdef", "\x03", hex_decode("93a470696e679080")});
    reply = raw.socket().receive(2s);
    took = std::min(took, Clock::now() - start);
    ASSERT_TRUE(reply.has_value());
  }
  EXPECT_LT(took, 100ms);
  ::testing::Test::RecordProperty(
      "unauthorized_us", static_cast<int>(std::chrono::duration_cast<std::chrono::microseconds>(took).count()));
  EXPECT_EQ(*reply, (Frames{"", "v1", "0123456789abcdef", "\x11", "Authentication Required"}));
  // A HELLO with garbage, then one with the wrong shape: answered, never a crash.
  raw.socket().send({"", "v1", "0123456789abcdef", "\x02", "\xc1\xc1"});
  auto garbage = raw.socket().receive(2s);
  ASSERT_TRUE(garbage.has_value());
  EXPECT_EQ(garbage->back(), "Authentication Error");
  raw.socket().send({"", "v1", "0123456789abcdef", "\x02", hex_decode("92a46a6f686ea773336372657421")});  // str, not bin
  auto str_login = raw.socket().receive(2s);
  ASSERT_TRUE(str_login.has_value());
  EXPECT_EQ(str_login->back(), "Authentication Error");
  // Two HELLOs spent: even the right password is refused on this connection now.
  raw.socket().send({"", "v1", "0123456789abcdef", "\x02", hex_decode("92c4046a6f686ec40773336372657421")});
  auto third = raw.socket().receive(2s);
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->back(), "Authentication Error");
  EXPECT_EQ(service_.calls.load(), 0);
  EXPECT_TRUE(service_.server.connected_peers().empty());
}

TEST_F(UntrustedCurve, HelloBeforeAnyChallengeIsRefused) {
  RawCurvePeer raw(keys_.server.public_key, service_.endpoint);
  raw.socket().send({"", "v1", "0123456789abcdef", "\x02", hex_decode("92c4046a6f686ec40773336372657421")});
  auto reply = raw.socket().receive(2s);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->back(), "Authentication Error");
}

TEST_F(UntrustedCurve, TheRawExchangeMatchesPseudByteForByte) {
  RawCurvePeer raw(keys_.server.public_key, service_.endpoint);
  const std::string id = hex_decode("a974bb75dd0148d68dd0ef1a79f189fa");
  const std::string work = hex_decode("93a470696e679080");  // ping()
  raw.socket().send({"", "v1", id, "\x03", work});
  auto challenge = raw.socket().receive(2s);
  ASSERT_TRUE(challenge.has_value());
  EXPECT_EQ(*challenge, (Frames{"", "v1", id, "\x11", "Authentication Required"}));
  raw.socket().send({"", "v1", id, "\x02", hex_decode("92c4046a6f686ec40773336372657421")});  // [b"john", b"s3cret!"]
  auto welcome = raw.socket().receive(2s);
  ASSERT_TRUE(welcome.has_value());
  EXPECT_EQ(*welcome, (Frames{"", "v1", id, "\x04", "Welcome b'john'"}));
  raw.socket().send({"", "v1", id, "\x03", work});  // the saved WORK again, same id
  auto ok = raw.socket().receive(2s);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, (Frames{"", "v1", id, "\x01", hex_decode("a4706f6e67")}));
  EXPECT_EQ(service_.calls.load(), 1);
}

TEST_F(UntrustedCurve, HeartbeatBeforeLoginIsAnsweredAndCreatesNoPeer) {
  RawCurvePeer raw(keys_.server.public_key, service_.endpoint);
  raw.socket().send({"", "v1", "", "\x06", ""});
  auto reply = raw.socket().receive(2s);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(*reply, (Frames{"", "v1", "", "\x11", "Authentication Required"}));
  EXPECT_TRUE(service_.server.connected_peers().empty());
}

// A HELLO body [bin login, bin password] with the given lengths.
std::string hello_body(const std::string& login, const std::string& password) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_array(2);
  packer.pack_bin(static_cast<std::uint32_t>(login.size()));
  packer.pack_bin_body(login.data(), static_cast<std::uint32_t>(login.size()));
  packer.pack_bin(static_cast<std::uint32_t>(password.size()));
  packer.pack_bin_body(password.data(), static_cast<std::uint32_t>(password.size()));
  return {buffer.data(), buffer.size()};
}

// WORK, then the challenge it gets.
void get_challenged(RawCurvePeer& raw) {
  raw.socket().send({"", "v1", "0123456789abcdef", "\x03", hex_decode("93a470696e679080")});
  auto challenge = raw.socket().receive(2s);
  ASSERT_TRUE(challenge.has_value());
  ASSERT_EQ(challenge->back(), "Authentication Required");
}

// The answer to one HELLO.
std::string answer_to_hello(RawCurvePeer& raw, const std::string& body) {
  raw.socket().send({"", "v1", "0123456789abcdef", "\x02", body});
  auto reply = raw.socket().receive(5s);
  return reply ? reply->back() : std::string("(no answer)");
}

// whoami from a client logging in with `options` (a fixed routing id), on new
// connections until one answers. libzmq ignores a connection presenting a
// routing id the server still holds for one that has just closed (no
// ROUTER_HANDOVER with authentication), so coming back at once may take a
// second connection. "" when none answered within 5 s.
std::string log_in_again(const Service& service, const PeerOptions& options) {
  const auto until = Clock::now() + 5s;
  while (Clock::now() < until) {
    auto client = client_of(service, options);
    try {
      return client->call<std::string>("whoami", CallOptions{.timeout = 1s});
    } catch (const TimeoutError&) {
    }
  }
  return {};
}

TEST_F(UntrustedCurve, HellosOverTheLengthCapsAreRefusedUnhashed) {
  RawCurvePeer raw(keys_.server.public_key, service_.endpoint);
  get_challenged(raw);
  EXPECT_EQ(answer_to_hello(raw, hello_body("john", std::string(1025, 'p'))), "Authentication Error");
  EXPECT_EQ(answer_to_hello(raw, hello_body(std::string(257, 'j'), "s3cret!")), "Authentication Error");
  auto stats = service_.server.stats();
  EXPECT_EQ(stats.auth_refused_oversize, 2u);
  EXPECT_EQ(stats.auth_checks, 0u);
  // At the caps exactly, the login is checked (a new connection: that one spent its tries).
  RawCurvePeer again(keys_.server.public_key, service_.endpoint);
  get_challenged(again);
  EXPECT_EQ(answer_to_hello(again, hello_body(std::string(256, 'j'), std::string(1024, 'p'))), "Authentication Error");
  EXPECT_TRUE(eventually([&] { return service_.server.stats().auth_checks == 1; }));
  EXPECT_EQ(service_.server.stats().auth_refused_oversize, 2u);
  EXPECT_EQ(service_.calls.load(), 0);
}

TEST_F(UntrustedCurve, ATypoDoesNotLockAFixedRoutingIdOut) {
  auto typo = client_options("s3cret?", keys_.alice);
  typo.routing_id = "johns-laptop";
  {
    auto client = client_of(service_, typo);
    try {
      client->call<std::string>("whoami");
      FAIL() << "expected UnauthorizedError";
    } catch (const UnauthorizedError& e) {
      EXPECT_EQ(e.message(), "Max authentication retries reached");
    }
  }
  // The same routing id and key, the right password, a new connection: it starts afresh.
  auto right = client_options("s3cret!", keys_.alice);
  right.routing_id = "johns-laptop";
  EXPECT_EQ(log_in_again(service_, right), "john");
}

TEST_F(UntrustedCurve, AStrangerUnderTheOwnersRoutingIdCannotLockTheOwnerOut) {
  {
    // Someone else's key, the owner's routing id: a challenge and two wrong tries.
    RawCurvePeer stranger(keys_.server.public_key, service_.endpoint, keys_.bob, "johns-laptop");
    get_challenged(stranger);
    EXPECT_EQ(answer_to_hello(stranger, hello_body("john", "guess1")), "Authentication Error");
    EXPECT_EQ(answer_to_hello(stranger, hello_body("john", "guess2")), "Authentication Error");
    EXPECT_EQ(answer_to_hello(stranger, hello_body("john", "s3cret!")), "Authentication Error");
  }
  auto owner_options = client_options("s3cret!", keys_.alice);
  owner_options.routing_id = "johns-laptop";
  EXPECT_EQ(log_in_again(service_, owner_options), "john");
}

TEST_F(UntrustedCurve, TriesAreCountedPerConnection) {
  // Two tries spent on one connection, then the same key on a new connection gets two more.
  {
    RawCurvePeer first(keys_.server.public_key, service_.endpoint, keys_.alice, "fixed");
    get_challenged(first);
    EXPECT_EQ(answer_to_hello(first, hello_body("john", "no")), "Authentication Error");
    EXPECT_EQ(answer_to_hello(first, hello_body("john", "nope")), "Authentication Error");
    EXPECT_EQ(answer_to_hello(first, hello_body("john", "s3cret!")), "Authentication Error");
  }
  // The old connection's close may still be on its way: the new one retries until the server takes it.
  std::optional<std::string> welcome;
  EXPECT_TRUE(eventually(
      [&] {
        RawCurvePeer second(keys_.server.public_key, service_.endpoint, keys_.alice, "fixed");
        second.socket().send({"", "v1", "0123456789abcdef", "\x03", hex_decode("93a470696e679080")});
        auto challenge = second.socket().receive(500ms);
        if (!challenge) return false;  // not routed yet: the server still holds the old connection
        welcome = answer_to_hello(second, hello_body("john", "s3cret!"));
        return true;
      },
      5000ms));
  EXPECT_EQ(welcome, "Welcome b'john'");
}

// ---- limits on password checks -------------------------------------------------------

TEST(CheckLimits, PlainLoginsOverThePerAddressRateAreRefusedUnhashed) {
  Service service(with_auth("plain", {{"user", "alice=right"}, cheap_hash, {"encrypted_link", "true"},
                                      {"checks_per_second_per_address", "1"}, {"check_burst_per_address", "1"}}));
  const auto wrong = with_auth("plain", {{"login", "alice"}, {"password", "wrong"}, {"encrypted_link", "true"}});
  for (int i = 0; i < 3; ++i) {
    auto client = client_of(service, wrong);
    EXPECT_THROW(client->call<std::string>("ping", CallOptions{.timeout = 5s}), HandshakeError);
  }
  const auto stats = service.server.stats();
  EXPECT_GE(stats.auth_checks, 1u);
  EXPECT_GE(stats.auth_refused_by_address, 1u) << "three logins within a second from one address";
  EXPECT_EQ(stats.auth_checks + stats.auth_refused_by_address, 3u);
  // Once the bucket refills (1 a second), the right password gets in.
  bool in = false;
  EXPECT_TRUE(eventually(
      [&] {
        auto client = client_of(service, with_auth("plain", {{"login", "alice"}, {"password", "right"}, {"encrypted_link", "true"}}));
        try {
          in = client->call<std::string>("whoami", CallOptions{.timeout = 2s}) == "alice";
        } catch (const HandshakeError&) {
        }
        return in;
      },
      5000ms));
  EXPECT_TRUE(in);
}

TEST(CheckLimits, BadLimitSettingsAreRefusedAtConstruction) {
  for (const char* name : {"max_checks", "max_checks_per_address", "checks_per_second_per_address",
                           "check_burst_per_address"}) {
    for (const char* value : {"0", "-1", "x", "1.5.2", ""}) {
      EXPECT_THROW(Server("s", with_auth("plain", {{"user", "a=b"}, cheap_hash, {"encrypted_link", "true"}, {name, value}})),
                   UsageError)
          << name << "=" << value;
    }
  }
  EXPECT_THROW(Server("s", with_auth("plain", {{"user", "a=b"}, cheap_hash, {"encrypted_link", "true"},
                                               {"check_burst_per_address", "0.5"}})),
               UsageError);
  EXPECT_NO_THROW(Server("s", with_auth("untrusted_curve", {{"secret_key", generate_curve_keypair().secret_key},
                                                            {"user", "a=b"}, cheap_hash, {"max_checks", "4"},
                                                            {"checks_per_second_per_address", "0.5"}})));
}

// ---- routing-id takeover ----------------------------------------------------------

TEST(Takeover, ASecondUserReusingARoutingIdDoesNotTakeItsRoute) {
  Keys keys;
  Service service(with_auth("trusted_curve", {{"secret_key", keys.server.secret_key},
                                              {"trust", "alice=" + keys.alice.public_key},
                                              {"trust", "bob=" + keys.bob.public_key}}));
  auto options_for = [&](const CurveKeyPair& own) {
    auto options = with_auth("trusted_curve", {{"server_public_key", keys.server.public_key},
                                               {"public_key", own.public_key},
                                               {"secret_key", own.secret_key}});
    options.routing_id = "shared-id";
    return options;
  };
  auto alice = client_of(service, options_for(keys.alice), "alice's client");
  ASSERT_EQ(alice->call<std::string>("whoami"), "alice");
  auto bob = client_of(service, options_for(keys.bob), "bob's client");
  // Bob's connection is ignored: his call never reaches a handler.
  EXPECT_THROW(bob->call<std::string>("whoami", CallOptions{.timeout = 500ms}), TimeoutError);
  // With authentication only users are addressed, never a bare routing id.
  EXPECT_THROW(service.server.send_to("shared-id").call<std::string>("name_of_client"), PeerUnreachableError);
  EXPECT_EQ(service.server.send_to("alice").call<std::string>("name_of_client"), "alice's client");
  EXPECT_EQ(alice->call<std::string>("whoami"), "alice");
}

// ---- predicates fed by authentication --------------------------------------------

TEST(Predicates, PermissionsFromTheBackendPickTheDomain) {
  PeerOptions options = with_auth("plain", {{"user", "alice=a"}, {"user", "bob=b"}, {"permission", "alice=admin"},
                                            cheap_hash, {"encrypted_link", "true"}});
  Service service(options);
  std::atomic<int> admin_runs{0};
  service.server.register_rpc("power", [] { return std::string("small power"); });
  service.server.register_rpc("power", [] { return std::string("great power"); }, {.domain = "restricted"});
  service.server.register_rpc("admin.only", [&admin_runs] { return ++admin_runs; }, {.domain = "restricted"});
  service.server.register_rpc("alice.only", [] { return true; }, {.domain = "alice"});
  service.server.registry().set_predicate("restricted", require_permission("admin"));
  service.server.registry().set_predicate("alice", only_users({"alice"}));
  auto login = [&](const std::string& user, const std::string& password) {
    return client_of(service, with_auth("plain", {{"login", user}, {"password", password}, {"encrypted_link", "true"}}));
  };
  auto alice = login("alice", "a");
  auto bob = login("bob", "b");
  EXPECT_EQ(alice->call<std::string>("power"), "great power");
  EXPECT_EQ(bob->call<std::string>("power"), "small power");
  EXPECT_EQ(alice->call<int>("admin.only"), 1);
  EXPECT_THROW(bob->call<int>("admin.only"), ServiceNotFoundError);
  EXPECT_TRUE(alice->call<bool>("alice.only"));
  EXPECT_THROW(bob->call<bool>("alice.only"), ServiceNotFoundError);
  EXPECT_EQ(admin_runs.load(), 1);
}

// ---- run-time registration and plugins ----------------------------------------------

class CountingAuth final : public AuthBackend {
 public:
  explicit CountingAuth(std::atomic<int>& checks) : checks_(checks) {}
  void configure(AuthHost&) override {}
  bool is_authenticated(const Connection& from) override {
    ++checks_;
    return from.routing_id != "intruder";
  }
  void handle_unauthenticated(AuthHost& host, const Connection& from, std::string_view id) override {
    host.send_unauthorized(from.routing_id, id, "go away");
  }

 private:
  std::atomic<int>& checks_;
};

TEST(Plugins, ABackendRegisteredAtRunTimeIsUsedByName) {
  static std::atomic<int> checks{0};
  register_auth_backend("counting", [](PeerRole, const Settings&) { return std::make_unique<CountingAuth>(checks); });
  Service service(with_auth("counting", {}));
  auto friendly = client_of(service, PeerOptions{.routing_id = "friend"});
  EXPECT_EQ(friendly->call<std::string>("whoami"), "friend");
  auto intruder = client_of(service, PeerOptions{.routing_id = "intruder"});
  try {
    intruder->call<std::string>("whoami");
    FAIL() << "expected UnauthorizedError";
  } catch (const UnauthorizedError& e) {
    EXPECT_EQ(e.message(), "go away");
  }
  EXPECT_GT(checks.load(), 0);
  EXPECT_EQ(service.calls.load(), 1);
}

TEST(Plugins, ASharedObjectPluginIsLoadedAndCarriesCalls) {
  load_plugin(PSEUD_EXAMPLE_PLUGIN);
  load_plugin(PSEUD_EXAMPLE_PLUGIN);  // loading twice is harmless
  const auto names = auth_backend_names();
  ASSERT_NE(std::find(names.begin(), names.end(), "routing_id_allow_list"), names.end());
  Service service(with_auth("routing_id_allow_list", {{"allow", "listed"}}));
  service.server.register_rpc("listed.only", [] { return 7; }, {.domain = "listed"});
  service.server.registry().set_predicate("listed", require_permission("listed"));
  auto named = [](std::string routing_id) {
    PeerOptions options = with_auth("routing_id_allow_list", {});
    options.routing_id = std::move(routing_id);
    return options;
  };
  auto listed = client_of(service, named("listed"));
  EXPECT_EQ(listed->call<int>("listed.only"), 7);
  EXPECT_EQ(service.server.send_to("listed").call<std::string>("name_of_client"), "client");
  auto stranger = client_of(service, named("stranger"));
  EXPECT_THROW(stranger->call<int>("listed.only"), UnauthorizedError);
}

TEST(Plugins, LoadingErrorsNameThePathAndTheReason) {
  try {
    load_plugin("/nonexistent/plugin.so");
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/plugin.so"), std::string::npos);
  }
  try {
    load_plugin(PSEUD_LIBRARY);  // a shared object without the entry point
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("entry point"), std::string::npos) << e.what();
  }
}

TEST(Plugins, APluginOfTheOldInterfaceVersionIsRefusedUnrunNamingBothVersions) {
  try {
    load_plugin(PSEUD_OLD_ABI_PLUGIN);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(PSEUD_OLD_ABI_PLUGIN), std::string::npos) << what;
    EXPECT_NE(what.find("built for plugin interface version 1, this library has version " +
                        std::to_string(plugin_abi_version)),
              std::string::npos)
        << what;
  }
  EXPECT_EQ(plugin_abi_version, 2);
}

// The verified_plain example (examples/verified_plain.cpp), built as a
// plugin: loaded by path, used by name, its verifier checks every login.
TEST(Plugins, TheVerifiedPlainExamplePluginIsUsedByNameAndChecksPasswords) {
  load_plugin(PSEUD_VERIFIED_PLAIN_PLUGIN);
  const auto names = auth_backend_names();
  ASSERT_NE(std::find(names.begin(), names.end(), "verified_plain"), names.end());
  Service service(with_auth("verified_plain", {}));
  auto login = [&](const std::string& password) {
    return client_of(service, with_auth("plain", {{"login", "alice"}, {"password", password}, {"encrypted_link", "true"}}));
  };
  EXPECT_EQ(login("wonderland")->call<std::string>("whoami", CallOptions{.timeout = 5s}), "alice");
  auto guesser = login("guess");
  const auto started = Clock::now();
  EXPECT_THROW(guesser->call<std::string>("whoami", CallOptions{.timeout = 5s}), HandshakeError);
  EXPECT_LT(Clock::now() - started, 2s);
  EXPECT_EQ(service.calls.load(), 1);
  // Its server side declares no settings, and has no client side.
  EXPECT_THROW(Server("server", with_auth("verified_plain", {{"user", "bob=b"}})), UsageError);
  EXPECT_THROW(Client("server", with_auth("verified_plain", {})), UsageError);
}

}  // namespace
}  // namespace pseud::test
