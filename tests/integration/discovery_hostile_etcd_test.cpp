// The etcd backend against a fake etcd (tests/support/fake_http_server.hpp)
// that answers garbage: unreadable JSON, wrong types, huge numbers, deep
// nesting, oversize answers and watch lines, errors, silence. Every such
// answer is a DiscoveryError or a logged, retried failure; never a crash.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "discovery/base64.hpp"
#include "discovery/record_codec.hpp"
#include "fake_http_server.hpp"
#include "pseud/discovery.hpp"
#include "pseud/errors.hpp"

namespace {

using namespace std::chrono_literals;
using pseud::InstanceRecord;
using pseud::test::FakeHttpServer;
using Clock = std::chrono::steady_clock;

template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit) {
  const auto until = Clock::now() + limit;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(10ms);  // polling step
  }
}

InstanceRecord record(const std::string& instance) {
  InstanceRecord r;
  r.service = "echo";
  r.instance = instance;
  r.routing_id = "echo@" + instance;
  r.endpoints = {"tcp://127.0.0.1:1"};
  return r;
}

std::string range_with(const InstanceRecord& r) {
  using pseud::detail::discovery::base64_encode;
  const nlohmann::json answer = {
      {"header", {{"revision", "5"}}},
      {"kvs", {{{"key", base64_encode("/pseud/services/echo/" + r.instance)},
                {"value", base64_encode(pseud::detail::discovery::encode_record(r))}}}},
      {"count", "1"}};
  return answer.dump();
}

// A body the test changes between calls.
class Script {
 public:
  void set(std::string body) {
    std::lock_guard lock(mutex_);
    body_ = std::move(body);
  }
  std::string get() {
    std::lock_guard lock(mutex_);
    return body_;
  }

 private:
  std::mutex mutex_;
  std::string body_;
};

TEST(DiscoveryHostileEtcd, LookupRefusesUnreadableAnswers) {
  Script range;
  FakeHttpServer server([&](const std::string& path, const std::string&) {
    if (path != "/v3/kv/range") return FakeHttpServer::Reply{FakeHttpServer::answer("{}", "404 Not Found")};
    const std::string body = range.get();
    if (body.rfind("HTTP/", 0) == 0) return FakeHttpServer::Reply{body};
    return FakeHttpServer::Reply{FakeHttpServer::answer(body)};
  });
  auto discovery = pseud::make_discovery(server.address());
  const std::vector<std::string> hostile = {
      "not json",
      "[]",
      "\"text\"",
      R"({"header":{"revision":"99999999999999999999999"}})",
      R"({"header":{"revision":1.5}})",
      R"({"header":{"revision":"12abc"}})",
      R"({"header":"x"})",
      R"({"kvs":"x"})",
      R"({"kvs":[1]})",
      R"({"kvs":[{"key":"!!!!","value":"YQ=="}]})",
      R"({"kvs":[{"key":5}]})",
      std::string(100000, '[') + std::string(100000, ']'),
      FakeHttpServer::answer(R"({"error":"boom","message":"boom","code":13})", "500 Internal Server Error"),
      FakeHttpServer::answer("{\"pad\":\"" + std::string(5 * 1024 * 1024, ' ') + "\"}"),
  };
  for (const auto& body : hostile) {
    range.set(body);
    const auto start = Clock::now();
    try {
      discovery->lookup("echo");
      ADD_FAILURE() << "accepted: " << body.substr(0, 80);
    } catch (const pseud::DiscoveryError& e) {
      EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(server.port())), std::string::npos)
          << e.what();
    }
    EXPECT_LT(Clock::now() - start, 3s);
  }
  range.set(FakeHttpServer::answer(R"({"error":"boom","message":"boom","code":13})", "500 Internal Server Error"));
  try {
    discovery->lookup("echo");
  } catch (const pseud::DiscoveryError& e) {
    EXPECT_NE(std::string(e.what()).find("HTTP 500: boom"), std::string::npos) << e.what();
  }
  range.set(FakeHttpServer::answer("{\"pad\":\"" + std::string(5 * 1024 * 1024, ' ') + "\"}"));
  try {
    discovery->lookup("echo");
  } catch (const pseud::DiscoveryError& e) {
    EXPECT_NE(std::string(e.what()).find("larger than 4194304 bytes"), std::string::npos) << e.what();
  }
  range.set(range_with(record("a")));  // and a good answer is still read
  ASSERT_EQ(discovery->lookup("echo").size(), 1u);
}

TEST(DiscoveryHostileEtcd, SilentServerTimesOut) {
  FakeHttpServer server([](const std::string&, const std::string&) { return FakeHttpServer::Reply{"", true}; });
  auto discovery = pseud::make_discovery(server.address());
  const auto start = Clock::now();
  EXPECT_THROW(discovery->lookup("echo"), pseud::DiscoveryError);
  EXPECT_THROW(discovery->register_instance(record("a")), pseud::DiscoveryError);
  const auto took = Clock::now() - start;
  std::printf("[figure] etcd (fake, silent): lookup and register_instance failed after %ld ms in all\n",
              static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  EXPECT_LT(took, 6s);
}

TEST(DiscoveryHostileEtcd, GrantWithoutALeaseIsRefused) {
  Script grant;
  FakeHttpServer server([&](const std::string& path, const std::string&) {
    if (path == "/v3/lease/grant") return FakeHttpServer::Reply{FakeHttpServer::answer(grant.get())};
    return FakeHttpServer::Reply{FakeHttpServer::answer(R"({"header":{"revision":"2"}})")};
  });
  auto discovery = pseud::make_discovery(server.address());
  for (const char* body : {R"({"header":{}})", R"({"ID":"abc"})", R"({"ID":[1]})", R"({"ID":"0"})", "garbage"}) {
    grant.set(body);
    EXPECT_THROW(discovery->register_instance(record("a")), pseud::DiscoveryError) << body;
  }
}

// A keepalive answering that the lease is gone makes the registration grant a new one.
TEST(DiscoveryHostileEtcd, LostLeaseIsGrantedAgain) {
  FakeHttpServer server([&](const std::string& path, const std::string&) {
    if (path == "/v3/lease/grant") return FakeHttpServer::Reply{FakeHttpServer::answer(R"({"ID":"7","TTL":"1"})")};
    if (path == "/v3/lease/keepalive") return FakeHttpServer::Reply{FakeHttpServer::answer(R"({"result":{"ID":"7"}})")};
    if (path == "/v3/kv/range") return FakeHttpServer::Reply{FakeHttpServer::answer(range_with(record("a")))};
    if (path == "/v3/watch") return FakeHttpServer::Reply{FakeHttpServer::stream_head(), true};
    return FakeHttpServer::Reply{FakeHttpServer::answer(R"({"header":{"revision":"2"}})")};
  });
  auto discovery = pseud::make_discovery(server.address());
  auto registration = discovery->register_instance(record("a"), {1s});
  ASSERT_TRUE(eventually([&] { return server.requests("/v3/lease/grant") >= 3; }, 3000ms))
      << "grants: " << server.requests("/v3/lease/grant");
  const auto start = Clock::now();
  registration.reset();
  EXPECT_LT(Clock::now() - start, 3s);
}

// Garbage on the watch stream: the watch keeps its set and starts again.
TEST(DiscoveryHostileEtcd, WatchSurvivesGarbageStreams) {
  std::mutex mutex;
  int watch_requests = 0;
  const std::vector<std::string> streams = {
      FakeHttpServer::chunk("garbage\n"),
      FakeHttpServer::chunk(R"({"result":{"events":[{"type":5}]}})" "\n"),
      FakeHttpServer::chunk(R"({"result":{"events":"x"}})" "\n"),
      FakeHttpServer::chunk(R"({"result":{"header":{"revision":"1e99"},"events":[]}})" "\n"),
      FakeHttpServer::chunk(R"({"result":{"canceled":true,"cancel_reason":"compacted"}})" "\n"),
      FakeHttpServer::chunk(R"({"error":{"grpc_code":14,"message":"unavailable"}})" "\n"),
      FakeHttpServer::chunk(std::string(100000, '[') + "\n"),
      FakeHttpServer::chunk(std::string(5 * 1024 * 1024, 'x')),
      FakeHttpServer::chunk(R"({"result":{"events":[{"kv":{"key":"!!","value":"YQ=="}}]}})" "\n"),
  };
  FakeHttpServer server([&](const std::string& path, const std::string&) {
    if (path == "/v3/kv/range") return FakeHttpServer::Reply{FakeHttpServer::answer(range_with(record("a")))};
    if (path == "/v3/watch") {
      std::lock_guard lock(mutex);
      const auto& body = streams[static_cast<std::size_t>(watch_requests++) % streams.size()];
      return FakeHttpServer::Reply{FakeHttpServer::stream_head() + body + "0\r\n\r\n"};
    }
    return FakeHttpServer::Reply{FakeHttpServer::answer("{}", "404 Not Found")};
  });
  auto discovery = pseud::make_discovery(server.address());
  std::mutex calls_mutex;
  std::vector<std::size_t> sizes;
  auto watch = discovery->watch("echo", [&](const std::vector<InstanceRecord>& set) {
    std::lock_guard lock(calls_mutex);
    sizes.push_back(set.size());
  });
  ASSERT_TRUE(eventually([&] { return server.requests("/v3/watch") >= static_cast<int>(streams.size()) + 1; }, 10s))
      << "watch requests: " << server.requests("/v3/watch");
  watch.reset();
  std::lock_guard lock(calls_mutex);
  ASSERT_EQ(sizes.size(), 1u) << "one set, never emptied nor repeated";
  EXPECT_EQ(sizes[0], 1u);
}

}  // namespace
