// Handlers that answer through a ReplyChannel (lymph's raw_rpc), and
// declared exceptions (lymph's raises=): what reaches the wire, once, and
// what never leaves the process.

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string frames_body(const std::string& name, const std::string& argument) {
  const auto call = detail::pack_call("", name, argument);
  return {call.body.data(), call.body.size()};
}

// A server on its own context, a pseud client, and a raw ROUTER that sees every frame.
struct Fixture {
  explicit Fixture(PeerOptions options = {}) {
    options.context = context;
    server.emplace("server", options);
  }
  void start() {
    endpoint = server->bind("tcp://127.0.0.1:*");
    client.emplace("server");
    client->connect(endpoint);
    raw.socket().connect(endpoint);
  }
  // Sends WORK `name(argument)` from the raw socket and returns every reply
  // to it within `window` after the first. (Until the connection is up the
  // WORK is dropped, so it is sent again, each time with a new id; only the
  // replies to the first one answered count.)
  std::vector<Frames> raw_call(const std::string& name, const std::string& argument,
                               std::chrono::milliseconds window = 300ms) {
    std::vector<Frames> replies;
    for (int attempt = 0; attempt < 50 && replies.empty(); ++attempt) {
      raw.send({"server", "", "v1", "id-" + std::to_string(attempt), "\x03", frames_body(name, argument)});
      if (auto reply = raw.receive(100ms)) replies.push_back(*reply);
    }
    if (replies.empty()) return replies;
    const std::string answered = replies[0].at(3);
    while (auto more = raw.receive(window)) {
      if (more->size() > 3 && (*more)[3] == answered) replies.push_back(*more);
    }
    return replies;
  }
  std::shared_ptr<zmq::context_t> context = std::make_shared<zmq::context_t>();
  std::optional<Server> server;
  std::string endpoint;
  std::optional<Client> client;
  RawSocket raw{*context, zmq::socket_type::router, "raw"};
};

TEST(ReplyChannel, AnswersFromAWorkerThread200msLater) {
  Fixture f;
  std::vector<std::thread> workers;
  std::mutex mutex;
  f.server->register_rpc("deferred_echo", [&](ReplyChannel channel, std::string text) {
    std::lock_guard lock(mutex);
    workers.emplace_back([channel = std::move(channel), text]() mutable {
      std::this_thread::sleep_for(200ms);  // the deferral under test, not synchronisation
      EXPECT_TRUE(channel.reply(text));
    });
  });
  f.start();
  const auto start = Clock::now();
  EXPECT_EQ(f.client->call<std::string>("deferred_echo", "later"), "later");
  const auto took = Clock::now() - start;
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 2s);
  std::lock_guard lock(mutex);
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(f.server->stats().open_reply_channels, 0u);
}

TEST(ReplyChannel, ADroppedChannelNacksAtOnce) {
  Fixture f;
  f.server->register_rpc("drop_channel", [](ReplyChannel) {});
  f.start();
  EXPECT_THROW(f.client->call("drop_channel"), Nack);  // connects
  std::vector<Clock::duration> took;
  for (int i = 0; i < 21; ++i) {
    const auto start = Clock::now();
    try {
      f.client->call("drop_channel", CallOptions{.timeout = 5s});
      ADD_FAILURE() << "expected Nack";
    } catch (const Nack& e) {
      EXPECT_EQ(e.name(), "Nack");
      EXPECT_EQ(e.message(), "");
    }
    took.push_back(Clock::now() - start);
  }
  std::sort(took.begin(), took.end());
  const auto median_ms = std::chrono::duration<double, std::milli>(took[took.size() / 2]).count();
  ::testing::Test::RecordProperty("dropped_channel_nack_median_us", static_cast<int>(median_ms * 1000));
  std::printf("[figure] dropped channel -> Nack: median %.3f ms over 21 calls\n", median_ms);
  EXPECT_LT(median_ms, 10.0);
}

TEST(ReplyChannel, OnlyTheFirstAnswerReachesTheWire) {
  Fixture f;
  std::atomic<int> second{-1}, unless{-1};
  f.server->register_rpc("double_reply", [&](ReplyChannel channel, std::string text) {
    EXPECT_TRUE(channel.reply(text));
    second = channel.reply(std::string("again"));
    unless = channel.ack(true);
    EXPECT_TRUE(channel.replied());
  });
  f.start();
  const auto replies = f.raw_call("double_reply", "once");
  ASSERT_EQ(replies.size(), 1u) << "exactly one answer on the wire";
  EXPECT_EQ(replies[0][4], "\x01");  // OK
  EXPECT_EQ(second.load(), 0);
  EXPECT_EQ(unless.load(), 0);
  EXPECT_EQ(f.server->stats().late_replies, 1u) << "the second reply is counted, ack(true) is not";
}

TEST(ReplyChannel, AckNackAndErrorAnswerAsTheySay) {
  Fixture f;
  f.server->register_rpc("ack_only", [](ReplyChannel channel) { channel.ack(); });
  f.server->register_rpc("nack_me", [](ReplyChannel channel) { channel.nack(); });
  f.server->register_rpc("ack_unless", [](ReplyChannel channel) {
    EXPECT_TRUE(channel.ack(true));  // nothing was sent yet: this one goes
  });
  f.server->register_rpc("named_error", [](ReplyChannel channel, std::string message) {
    channel.error("QuotaExceeded", message);
  });
  f.start();
  EXPECT_TRUE(f.client->call("ack_only").get().is_nil());
  EXPECT_TRUE(f.client->call("ack_unless").get().is_nil());
  EXPECT_THROW(f.client->call("nack_me"), Nack);
  try {
    f.client->call("named_error", "over quota");
    FAIL() << "expected RemoteError";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.name(), "QuotaExceeded");
    EXPECT_EQ(e.message(), "over quota");
  }
  EXPECT_EQ(f.server->stats().late_replies, 0u);
}

TEST(ReplyChannel, AHandlerThatThrowsBeforeAnsweringAnswersWithItsException) {
  Fixture f;
  f.server->register_rpc("throws", [](ReplyChannel channel) {
    (void)channel;
    throw std::invalid_argument("bad input");
  });
  std::optional<ReplyChannel> kept;
  f.server->register_rpc("keeps_then_throws", [&](ReplyChannel channel) {
    kept.emplace(std::move(channel));
    throw std::invalid_argument("thrown after keeping the channel");
  });
  f.start();
  for (const char* name : {"throws", "keeps_then_throws"}) {
    try {
      f.client->call(name);
      ADD_FAILURE() << name << ": expected ValueError";
    } catch (const RemoteError& e) {
      EXPECT_EQ(e.name(), "ValueError") << name;
    }
  }
  // Answered by the exception: the kept channel has nothing left to say.
  EXPECT_TRUE(kept->replied());
  EXPECT_FALSE(kept->reply(1));
}

TEST(ReplyChannel, ABlockingHandlerAnswersThroughItsChannelToo) {
  Fixture f;
  f.server->register_rpc("blocking_echo", [](ReplyChannel channel, std::string text) { channel.reply(text + "!"); },
                         {.blocking = true});
  f.start();
  EXPECT_EQ(f.client->call<std::string>("blocking_echo", "pool"), "pool!");
}

TEST(ReplyChannel, OpenChannelsAreBoundedPerCaller) {
  PeerOptions options;
  options.max_requests_per_peer = 3;
  Fixture f(options);
  std::mutex mutex;
  std::vector<ReplyChannel> held;
  f.server->register_rpc("hold", [&](ReplyChannel channel) {
    std::lock_guard lock(mutex);
    held.push_back(std::move(channel));
  });
  f.start();
  std::vector<std::future<msgpack::object_handle>> waiting;
  for (int i = 0; i < 3; ++i) waiting.push_back(f.client->async_call<msgpack::object_handle>("hold"));
  ASSERT_TRUE(eventually([&] { return f.server->stats().open_reply_channels == 3u; }));
  EXPECT_THROW(f.client->call("hold"), OverloadedError);
  {
    std::lock_guard lock(mutex);
    for (auto& channel : held) channel.ack();
    held.clear();
  }
  for (auto& future : waiting) EXPECT_TRUE(get_within(future).get().is_nil());
  EXPECT_EQ(f.server->stats().open_reply_channels, 0u);
  f.server->register_rpc("hold", [](ReplyChannel channel) { channel.reply(7); });
  EXPECT_EQ(f.client->call<int>("hold"), 7);
}

TEST(ReplyChannel, AChannelMayOutliveItsServer) {
  std::optional<ReplyChannel> kept;
  {
    Fixture f;
    f.server->register_rpc("keep", [&](ReplyChannel channel) { kept.emplace(std::move(channel)); });
    f.start();
    auto pending = f.client->async_call<msgpack::object_handle>("keep", CallOptions{.timeout = 5s});
    ASSERT_TRUE(eventually([&] { return f.server->stats().open_reply_channels == 1u; }));
    f.server->stop();
  }
  ASSERT_TRUE(kept.has_value());
  EXPECT_TRUE(kept->reply(1));  // goes nowhere, harmlessly
  kept.reset();
}

// ---- declared exceptions ------------------------------------------------------

struct QuotaExceeded : std::runtime_error {
  using std::runtime_error::runtime_error;
};

TEST(DeclaredExceptions, DeclaredOnesGoOutWithTheirNameAndOthersAsABareNack) {
  std::mutex mutex;
  std::vector<std::string> reported;
  PeerOptions options;
  options.on_handler_error = [&](const std::string& function, const Caller& caller, std::exception_ptr error) {
    std::string what;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    }
    std::lock_guard lock(mutex);
    reported.push_back(function + "|" + caller.routing_id + "|" + what);
  };
  Fixture f(options);
  const std::vector<DeclaredError> contract{raises<std::invalid_argument>(), raises<QuotaExceeded>(),
                                            raises<std::out_of_range>("NotFound")};
  f.server->register_rpc("declared_error", [](std::string message) -> int { throw std::invalid_argument(message); },
                         {.raises = contract});
  f.server->register_rpc("quota", [](std::string message) -> int { throw QuotaExceeded(message); },
                         {.raises = contract});
  f.server->register_rpc("lookup", [](std::string message) -> int { throw std::out_of_range(message); },
                         {.raises = contract});
  f.server->register_rpc("undeclared_error", [](std::string message) -> int { throw std::runtime_error(message); },
                         {.raises = contract});
  f.server->register_rpc("no_contract", [](std::string message) -> int { throw std::runtime_error(message); });
  f.start();

  const auto expect_error = [&](const char* function, const std::string& name, const std::string& message) {
    try {
      f.client->call(function, message);
      ADD_FAILURE() << function << ": expected " << name;
    } catch (const RemoteError& e) {
      EXPECT_EQ(e.name(), name) << function;
      EXPECT_EQ(e.message(), name == "Nack" ? "" : message) << function;
    }
  };
  expect_error("declared_error", "ValueError", "bad value");
  expect_error("quota", "QuotaExceeded", "over quota");
  expect_error("lookup", "NotFound", "no such key");
  expect_error("undeclared_error", "Nack", "the secret is 42");
  expect_error("no_contract", "RuntimeError", "said as before");
  try {
    f.client->call("declared_error", 1, 2);
    ADD_FAILURE() << "expected TypeError";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.name(), "TypeError") << "the caller's wrong arguments are told, declared or not";
    EXPECT_NE(e.message().find("declared_error()"), std::string::npos) << e.message();
  }

  // On the wire: no frame carries any part of the undeclared message.
  const auto replies = f.raw_call("undeclared_error", "the secret is 42");
  ASSERT_EQ(replies.size(), 1u);
  for (const auto& frame : replies[0]) EXPECT_EQ(frame.find("secret"), std::string::npos);

  std::lock_guard lock(mutex);
  // The undeclared exception (from the client, then from the raw socket) and the one without a contract.
  ASSERT_GE(reported.size(), 3u);
  EXPECT_EQ(reported[0].substr(0, reported[0].find('|')), "undeclared_error");
  EXPECT_NE(reported[0].find("the secret is 42"), std::string::npos) << "the server side sees it all";
  EXPECT_EQ(reported[1].substr(0, reported[1].find('|')), "no_contract");
  for (const auto& line : reported) EXPECT_NE(line.rfind("declared_error|", 0), 0u) << "not the binding error";
}

}  // namespace
}  // namespace pseud::test
