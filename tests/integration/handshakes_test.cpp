// The public backend toolkit (pseud/handshakes.hpp, pseud/passwords.hpp, the
// HELLO helpers of pseud/auth.hpp) used as a third party would: server
// backends written here, in this file, against the public headers only,
// with the built-in client backends on the other side.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <gtest/gtest.h>
#include <msgpack.hpp>

#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

using Clock = std::chrono::steady_clock;

// What a test's server backend does with its handshakes, and what it saw.
struct Policy {
  // Decides a handshake; the defaulted one refuses.
  DeferringHandshakeDecider decide = [](const Handshake&, const HandshakeAnswer&) {
    return std::optional<HandshakeVerdict>(HandshakeVerdict::refuse());
  };
  HandshakeLimits limits{};
  bool plain = false;  // a PLAIN server (else CURVE)
  CurveKeyPair server_keys = generate_curve_keypair();
  HandshakeGate* gate = nullptr;  // while the server runs
};

// A server backend made of the toolkit, as a user would write it.
class ToolkitServer final : public ServerAuth {
 public:
  explicit ToolkitServer(Policy& policy) : policy_(policy) {}
  void configure(AuthHost& host) override {
    if (policy_.plain) {
      use_plain_server(host);
    } else {
      use_curve_server(host, parse_curve_key(policy_.server_keys.secret_key, "secret key"));
    }
    gate_ = decide_handshakes(host, policy_.decide, policy_.limits);
    policy_.gate = gate_.get();
  }
  void stop() override {
    policy_.gate = nullptr;
    gate_.reset();
  }

 private:
  Policy& policy_;
  std::unique_ptr<HandshakeGate> gate_;
};

// Registers "toolkit_test" once; each test points it at its own policy.
Policy*& current_policy() {
  static Policy* policy = nullptr;
  return policy;
}

struct Service {
  explicit Service(Policy& policy) {
    static const bool registered = [] {
      register_auth_backend("toolkit_test", {.server = [](const Settings&) {
                              return std::make_unique<ToolkitServer>(*current_policy());
                            }});
      return true;
    }();
    (void)registered;
    current_policy() = &policy;
    server.emplace("server", PeerOptions{.auth = {"toolkit_test", {}}});
    server->register_rpc("whoami", [](const std::string& user) { return user; }, {.with_identity = true});
    endpoint = server->bind("tcp://127.0.0.1:*");
  }
  std::optional<Server> server;
  std::string endpoint;
};

std::unique_ptr<Client> curve_client(const Service& service, const Policy& policy, const CurveKeyPair& own) {
  auto client = std::make_unique<Client>(
      "server", PeerOptions{.auth = {"trusted_curve", {{"server_public_key", policy.server_keys.public_key},
                                                       {"public_key", own.public_key},
                                                       {"secret_key", own.secret_key}}}});
  client->connect(service.endpoint);
  return client;
}

std::unique_ptr<Client> plain_client(const Service& service, const std::string& login, const std::string& password) {
  auto client = std::make_unique<Client>(
      "server", PeerOptions{.auth = {"plain", {{"login", login}, {"password", password}, {"encrypted_link", "true"}}}});
  client->connect(service.endpoint);
  return client;
}

HandshakeVerdict decide_now(const Handshake&);

TEST(Handshakes, ACurveDeciderSeesTheClientKeyAndNamesTheUser) {
  Policy policy;
  const CurveKeyPair alice = generate_curve_keypair(), mallory = generate_curve_keypair();
  std::atomic<int> asked{0};
  policy.decide = [&](const Handshake& handshake, const HandshakeAnswer&) -> std::optional<HandshakeVerdict> {
    ++asked;
    EXPECT_EQ(handshake.mechanism, HandshakeMechanism::curve);
    EXPECT_EQ(handshake.address, "127.0.0.1");
    if (handshake.client_key == alice.public_key) return HandshakeVerdict::accept("alice");
    return HandshakeVerdict::refuse("not on the list");
  };
  Service service(policy);
  EXPECT_EQ(curve_client(service, policy, alice)->call<std::string>("whoami"), "alice");
  auto stranger = curve_client(service, policy, mallory);
  EXPECT_LT(time_handshake_error([&] { stranger->call<std::string>("whoami", CallOptions{.timeout = 5s}); }), 1s);
  EXPECT_GE(asked.load(), 2);
  ASSERT_NE(policy.gate, nullptr);
  EXPECT_EQ(policy.gate->decided(), static_cast<std::uint64_t>(asked.load()));
}

TEST(Handshakes, AnAnswerGivenLaterFromAnotherThreadLetsTheClientIn) {
  Policy policy;
  std::mutex mutex;
  std::condition_variable arrived;
  std::optional<HandshakeAnswer> held;
  policy.decide = [&](const Handshake&, const HandshakeAnswer& answer) -> std::optional<HandshakeVerdict> {
    std::lock_guard lock(mutex);
    held = answer;
    arrived.notify_all();
    return std::nullopt;
  };
  Service service(policy);
  const CurveKeyPair alice = generate_curve_keypair();
  auto client = curve_client(service, policy, alice);
  std::thread answerer([&] {
    std::unique_lock lock(mutex);
    if (!arrived.wait_for(lock, 5s, [&] { return held.has_value(); })) return;
    // The handshake is counted as waiting once its decider has returned.
    EXPECT_TRUE(eventually([&] { return policy.gate->pending() == 1u; }));
    EXPECT_TRUE((*held)(HandshakeVerdict::accept("later")));
    EXPECT_FALSE((*held)(HandshakeVerdict::refuse())) << "only the first answer counts";
  });
  EXPECT_EQ(client->call<std::string>("whoami", CallOptions{.timeout = 5s}), "later");
  answerer.join();
}

TEST(Handshakes, AHandshakeNeverAnsweredIsRefusedAtItsTimeout) {
  Policy policy;
  policy.limits.timeout = 300ms;
  std::mutex mutex;
  std::vector<HandshakeAnswer> kept;  // held, never used: only the timeout ends them
  policy.decide = [&](const Handshake&, const HandshakeAnswer& answer) -> std::optional<HandshakeVerdict> {
    std::lock_guard lock(mutex);
    kept.push_back(answer);
    return std::nullopt;
  };
  Service service(policy);
  auto client = curve_client(service, policy, generate_curve_keypair());
  const auto took = time_handshake_error([&] { client->call<std::string>("whoami", CallOptions{.timeout = 5s}); });
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);
  ASSERT_NE(policy.gate, nullptr);
  EXPECT_GE(policy.gate->expired(), 1u);
  std::lock_guard lock(mutex);
  ASSERT_FALSE(kept.empty());
  EXPECT_FALSE(kept.front()(HandshakeVerdict::accept("too late"))) << "an answer after the timeout is dropped";
}

TEST(Handshakes, AnAnswerDroppedUnansweredRefusesAtOnce) {
  Policy policy;
  policy.limits.timeout = 10s;
  policy.decide = [](const Handshake&, const HandshakeAnswer&) -> std::optional<HandshakeVerdict> {
    return std::nullopt;  // and the answer goes with this call
  };
  Service service(policy);
  auto client = curve_client(service, policy, generate_curve_keypair());
  EXPECT_LT(time_handshake_error([&] { client->call<std::string>("whoami", CallOptions{.timeout = 5s}); }), 1s);
  EXPECT_EQ(policy.gate->expired(), 0u);
}

TEST(Handshakes, AnAcceptanceWithoutAUserOrADeciderThatThrowsRefuses) {
  for (const bool throws : {false, true}) {
    Policy policy;
    policy.decide = [throws](const Handshake&, const HandshakeAnswer&) -> std::optional<HandshakeVerdict> {
      if (throws) throw std::runtime_error("the decider broke");
      return HandshakeVerdict::accept("");
    };
    Service service(policy);
    auto client = curve_client(service, policy, generate_curve_keypair());
    EXPECT_LT(time_handshake_error([&] { client->call<std::string>("whoami", CallOptions{.timeout = 5s}); }), 1s)
        << (throws ? "throwing decider" : "empty user");
  }
}

TEST(Handshakes, APlainServerChecksPasswordsWithAnExternalVerifierOffTheHandshakeThread) {
  Policy policy;
  policy.plain = true;
  const auto handshake_thread = std::make_shared<std::thread::id>();
  std::atomic<bool> verified_elsewhere{false};
  auto verifier = [&](const std::string& login, const std::string& password) {
    verified_elsewhere = std::this_thread::get_id() != *handshake_thread;
    return login == "alice" && password == "s3cret";
  };
  PasswordCheckThreads threads;
  policy.decide = [&](const Handshake& handshake, const HandshakeAnswer& answer) -> std::optional<HandshakeVerdict> {
    *handshake_thread = std::this_thread::get_id();
    EXPECT_EQ(handshake.mechanism, HandshakeMechanism::plain);
    const bool queued = threads.try_post([&verifier, answer, login = handshake.login, password = handshake.password] {
      answer(verifier(login, password) ? HandshakeVerdict::accept(login) : HandshakeVerdict::refuse());
    });
    if (!queued) return HandshakeVerdict::fail("too many checks waiting");
    return std::nullopt;
  };
  Service service(policy);
  EXPECT_EQ(plain_client(service, "alice", "s3cret")->call<std::string>("whoami", CallOptions{.timeout = 5s}), "alice");
  EXPECT_TRUE(verified_elsewhere.load());
  auto wrong = plain_client(service, "alice", "guess");
  EXPECT_LT(time_handshake_error([&] { wrong->call<std::string>("whoami", CallOptions{.timeout = 5s}); }), 1s);
}

TEST(Handshakes, OnlyAServerDecidesHandshakes) {
  std::atomic<bool> refused{false};
  register_auth_backend("toolkit_client_test", [&refused](PeerRole, const Settings&) -> std::unique_ptr<AuthBackend> {
    class Backend final : public AuthBackend {
     public:
      explicit Backend(std::atomic<bool>& refused) : refused_(refused) {}
      void configure(AuthHost& host) override {
        try {
          decide_handshakes(host, HandshakeDecider(decide_now));
        } catch (const UsageError&) {
          refused_ = true;
        }
      }
      bool is_authenticated(const Connection&) override { return true; }

     private:
      std::atomic<bool>& refused_;
    };
    return std::make_unique<Backend>(refused);
  });
  Client client("server", PeerOptions{.auth = {"toolkit_client_test", {}}});
  EXPECT_TRUE(refused.load());
}

HandshakeVerdict decide_now(const Handshake&) { return HandshakeVerdict::accept("anyone"); }

TEST(HelloHelpers, DecodeWhatPseudSendsAndNothingElse) {
  msgpack::sbuffer hello;
  msgpack::packer<msgpack::sbuffer> packer(hello);
  packer.pack_array(2);
  packer.pack_bin(5);
  packer.pack_bin_body("alice", 5);
  packer.pack_bin(3);
  packer.pack_bin_body("p\0w", 3);
  const auto credentials = decode_hello(std::string_view(hello.data(), hello.size()));
  ASSERT_TRUE(credentials.has_value());
  EXPECT_EQ(credentials->login, "alice");
  EXPECT_EQ(credentials->password, std::string("p\0w", 3));

  msgpack::sbuffer strings;
  msgpack::pack(strings, std::vector<std::string>{"alice", "pw"});  // str, not bin: pseud refuses it too
  EXPECT_FALSE(decode_hello(std::string_view(strings.data(), strings.size())).has_value());
  EXPECT_FALSE(decode_hello("").has_value());
  EXPECT_FALSE(decode_hello(std::string_view("\x92\xc4\x05", 3)).has_value());  // truncated

  EXPECT_EQ(welcome_text("alice"), "Welcome b'alice'");
  EXPECT_EQ(welcome_text(std::string("a'\0", 3)), "Welcome b\"a'\\x00\"");
}

}  // namespace
}  // namespace pseud::test
