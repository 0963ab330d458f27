// The pseud tool as a user drives it: through its process, its JSON lines
// and its exit status. Every child runs under coreutils' `timeout`, so no
// read below can block for long.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "pseud/keys.hpp"
#include "pseud/pseud.hpp"
#include "refusing_port.hpp"
#include "test_support.hpp"
#if PSEUD_TEST_ETCD
#include "etcd_server.hpp"
#endif

namespace pseud::test {
namespace {

const std::string tool = PSEUD_TOOL;

struct Outcome {
  std::vector<std::string> lines;
  int status = -1;
};

std::string quote(const std::string& word) {
  std::string out = "'";
  for (const char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string command_of(const std::vector<std::string>& words) {
  std::string command;
  for (const auto& word : words) command += quote(word) + " ";
  return command;
}

// Runs `pseud WORDS...` to completion (at most 20 s) and collects stdout lines and the exit status.
Outcome run(const std::vector<std::string>& words) {
  std::vector<std::string> all{"timeout", "20", tool};
  all.insert(all.end(), words.begin(), words.end());
  FILE* pipe = popen((command_of(all) + " 2>/dev/null").c_str(), "r");
  Outcome outcome;
  if (!pipe) return outcome;
  char buffer[65536];
  while (std::fgets(buffer, sizeof buffer, pipe)) {
    std::string line(buffer);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    outcome.lines.push_back(line);
  }
  const int raw = pclose(pipe);
  outcome.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return outcome;
}

// `pseud WORDS...` in the background (at most 60 s), read line by line.
class BackgroundTool {
 public:
  explicit BackgroundTool(const std::vector<std::string>& words) {
    std::vector<std::string> all{tool};
    all.insert(all.end(), words.begin(), words.end());
    // The shell prints the pid `timeout` will have, then becomes it.
    pipe_ = popen(("echo $$; exec timeout -k 5 60 " + command_of(all) + " 2>/dev/null").c_str(), "r");
    pid_ = std::stoi(next_line());
  }
  ~BackgroundTool() {
    // SIGTERM, not SIGKILL: `timeout` passes it on to the tool, which
    // stops. A killed `timeout` would leave its child running.
    if (pipe_) {
      kill(pid_, SIGTERM);
      pclose(pipe_);
    }
  }
  BackgroundTool(const BackgroundTool&) = delete;
  BackgroundTool& operator=(const BackgroundTool&) = delete;

  std::string next_line() {
    char buffer[65536];
    if (!pipe_ || !std::fgets(buffer, sizeof buffer, pipe_)) return {};
    std::string line(buffer);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }
  // Sends SIGTERM and returns the exit status, with the lines printed until the end.
  int terminate(std::vector<std::string>& rest) {
    kill(pid_, SIGTERM);
    return finish(rest);
  }
  // Waits for the tool to end by itself.
  int finish(std::vector<std::string>& rest) {
    for (std::string line = next_line(); !line.empty(); line = next_line()) rest.push_back(line);
    const int raw = pclose(pipe_);
    pipe_ = nullptr;
    return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  }

 private:
  FILE* pipe_ = nullptr;
  int pid_ = 0;
};

// `pseud serve` in the background; its first line says where it listens.
class ServeProcess : public BackgroundTool {
 public:
  explicit ServeProcess(std::vector<std::string> extra = {}) : BackgroundTool(serve_words(std::move(extra))) {
    ready_ = next_line();
    const auto at = ready_.find("\"endpoint\": \"");
    if (at != std::string::npos) endpoint_ = ready_.substr(at + 13, ready_.find('"', at + 13) - at - 13);
  }
  const std::string& ready() const { return ready_; }
  const std::string& endpoint() const { return endpoint_; }

 private:
  static std::vector<std::string> serve_words(std::vector<std::string> extra) {
    std::vector<std::string> words{"serve", "tcp://127.0.0.1:*"};
    words.insert(words.end(), extra.begin(), extra.end());
    return words;
  }
  std::string ready_;
  std::string endpoint_;
};

TEST(Cli, KeygenPrintsAUsableKeyPair) {
  const Outcome out = run({"keygen"});
  ASSERT_EQ(out.status, 0);
  ASSERT_EQ(out.lines.size(), 1u);
  const std::string& line = out.lines[0];
  const std::string public_key = line.substr(line.find("\"public\": \"") + 11, 40);
  const std::string secret_key = line.substr(line.find("\"secret\": \"") + 11, 40);
  EXPECT_TRUE(is_valid_curve_key(public_key));
  EXPECT_EQ(curve_public_key(secret_key), public_key);
}

TEST(Cli, CallsPrintOneJsonLineAndExitStatusesMean) {
  ServeProcess server;
  ASSERT_FALSE(server.endpoint().empty()) << server.ready();
  const std::string& at = server.endpoint();
  EXPECT_EQ(run({"call", at, "add", "1", "2"}).lines, (std::vector<std::string>{R"({"result": 3})"}));
  EXPECT_EQ(run({"call", at, "greet", "bob", "--kwargs", R"({"greeting": "Hi", "mood": "calm"})"}).lines[0],
            R"({"result": {"text":"Hi, bob!","extra":{"mood":"calm"}}})");
  EXPECT_EQ(run({"call", at, "echo", R"({"$bytes": "00ff"})"}).lines[0], R"({"result": {"$bytes":"00ff"}})");
  EXPECT_EQ(run({"call", at, "echo", R"({"$map": [[1, "one"]]})"}).lines[0], R"({"result": {"$map":[[1,"one"]]}})");
  EXPECT_EQ(run({"call", at, "echo", "plain words"}).lines[0], R"({"result": "plain words"})");
  const Outcome failed = run({"call", at, "fail"});
  EXPECT_EQ(failed.status, 1);
  EXPECT_EQ(failed.lines[0], R"({"error": {"name": "ValueError", "message": "boom"}})");
  EXPECT_EQ(run({"call", at, "fail_custom", "mine"}).lines[0],
            R"({"error": {"name": "CustomError", "message": "mine"}})");
  EXPECT_EQ(run({"call", at, "no.such"}).status, 1);
  const Outcome slow = run({"call", at, "sleep", "2", "--timeout", "0.2"});
  EXPECT_EQ(slow.status, 2);
  EXPECT_NE(slow.lines[0].find("TimeoutError"), std::string::npos) << slow.lines[0];
  const Outcome repeated = run({"call", at, "add", "2", "2", "--repeat", "3"});
  EXPECT_EQ(repeated.lines, (std::vector<std::string>(3, R"({"result": 4})")));
}

TEST(Cli, NotifySendsWithoutAwaitingRepliesAndCanWaitForDelivery) {
  ServeProcess server;
  ASSERT_FALSE(server.endpoint().empty()) << server.ready();
  const std::string& at = server.endpoint();
  const Outcome sent = run({"call", at, "note", "1", "--notify", "--repeat", "5"});
  EXPECT_EQ(sent.status, 0);
  EXPECT_EQ(sent.lines, (std::vector<std::string>{R"({"notified": 5, "sent": 5, "failed": 0, "unsent": 0})"}));
  const Outcome delivered = run({"call", at, "note", "2", "--notify", "--wait-delivered", "5"});
  EXPECT_EQ(delivered.status, 0);
  EXPECT_EQ(delivered.lines[0], R"({"notified": 1, "sent": 1, "failed": 0, "unsent": 0, "delivered": true})");
  EXPECT_EQ(run({"call", at, "count_notified"}).lines[0], R"({"result": 6})");
  // An ERROR answer is counted; only --wait-delivered (or the stop's grace) waits for it.
  const Outcome failed = run({"call", at, "no.such", "--notify", "--wait-delivered", "5"});
  EXPECT_EQ(failed.status, 1);
  EXPECT_EQ(failed.lines[0], R"({"notified": 1, "sent": 1, "failed": 1, "unsent": 0, "delivered": true})");
  // Nobody listens: nothing leaves within --timeout.
  const Outcome away = run({"call", "tcp://127.0.0.1:1", "note", "1", "--notify", "--timeout", "0.3"});
  EXPECT_EQ(away.status, 2);
  EXPECT_EQ(away.lines[0], R"({"notified": 1, "sent": 0, "failed": 0, "unsent": 1})");
  EXPECT_EQ(run({"call", at, "note", "1", "--wait-delivered", "1"}).status, 3);
  EXPECT_EQ(run({"call", at, "note", "1", "--notify=yes"}).status, 3);
}

TEST(Cli, EmitAndSubscribeInBothModes) {
  ServeProcess server({"--events"});
  ASSERT_NE(server.ready().find("\"events\": \"tcp://127.0.0.1:"), std::string::npos) << server.ready();
  const std::string& at = server.endpoint();
  BackgroundTool everyone({"subscribe", at, "order.#", "--count", "3"});
  BackgroundTool billing_a({"subscribe", at, "order.*", "--group", "billing", "--count", "1", "--seconds", "10"});
  BackgroundTool billing_b({"subscribe", at, "order.*", "--group", "billing", "--count", "1", "--seconds", "10"});
  for (BackgroundTool* subscriber : {&everyone, &billing_a, &billing_b}) {
    EXPECT_EQ(subscriber->next_line(), R"({"event": "subscribed", "pattern": ")" +
                                           std::string(subscriber == &everyone ? "order.#" : "order.*") + R"("})");
  }
  const Outcome first = run({"emit", at, "order.created", R"({"n": 1})", "--header", "trace=t1", "--identity", "shop"});
  ASSERT_EQ(first.status, 0);
  const std::string id = first.lines[0].substr(8, 32);
  EXPECT_EQ(run({"emit", at, "order.paid", "2"}).status, 0);
  EXPECT_EQ(run({"emit", at, "order.paid.late", "3"}).status, 0);  // only for order.#
  EXPECT_EQ(run({"emit", at, "order.*", "1"}).status, 1);  // a pattern is not a type
  std::vector<std::string> got, a, b;
  EXPECT_EQ(everyone.finish(got), 0);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], R"({"id": ")" + id + R"(", "type": "order.created", "source": "shop", "headers": {"trace": "t1"}, )"
                    R"("body": {"n":1}})");
  EXPECT_NE(got[2].find(R"("type": "order.paid.late")"), std::string::npos);
  // The group: each of the two order.* events went to one member, and each member took one.
  EXPECT_EQ(billing_a.finish(a), 0);
  EXPECT_EQ(billing_b.finish(b), 0);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_NE(a[0], b[0]);
  EXPECT_EQ(run({"subscribe", at, "a..b"}).status, 3);
}

// The endpoint in a tool's "ready" line.
std::string endpoint_in(const std::string& ready) {
  const auto at = ready.find("\"endpoint\": \"");
  return at == std::string::npos ? std::string() : ready.substr(at + 13, ready.find('"', at + 13) - at - 13);
}

TEST(Cli, RelayPassesThroughAndStoresAndForwards) {
  ServeProcess upstream({"--name", "up"});
  BackgroundTool relay({"relay", "--listen", "tcp://127.0.0.1:*", "--forward", upstream.endpoint(), "--upstream-name", "up"});
  const std::string at = endpoint_in(relay.next_line());
  ASSERT_FALSE(at.empty());
  EXPECT_EQ(run({"call", at, "add", "1", "2", "--server-name", "relay"}).lines[0], R"({"result": 3})");
  const Outcome custom = run({"call", at, "fail_custom", "mine", "--server-name", "relay"});
  EXPECT_EQ(custom.status, 1);
  EXPECT_EQ(custom.lines[0], R"({"error": {"name": "CustomError", "message": "mine"}})");
  std::vector<std::string> rest;
  EXPECT_EQ(relay.terminate(rest), 0);
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back(), R"({"event": "stopped", "forwarded": 2, "answered": 2, "failed": 0, "accepted": 0, "refused": 0})");

  // Store-and-forward to an upstream that is not there yet.
  std::optional<RefusingPort> absent{RefusingPort::below_ephemeral_range()};
  const std::string later = absent->endpoint();
  BackgroundTool buffered({"relay", "--listen", "tcp://127.0.0.1:*", "--forward", later, "--upstream-name", "late",
                           "--mode", "store-and-forward", "--ttl", "30"});
  const std::string buffer_at = endpoint_in(buffered.next_line());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(run({"call", buffer_at, "note", std::to_string(i), "--server-name", "relay"}).lines[0],
              R"({"result": "accepted"})");
  }
  absent.reset();
  BackgroundTool late({"serve", later, "--name", "late"});
  ASSERT_EQ(endpoint_in(late.next_line()), later);
  std::string count;
  for (int i = 0; i < 100 && count != R"({"result": 3})"; ++i) {
    count = run({"call", later, "count_notified", "--server-name", "late"}).lines.at(0);
  }
  EXPECT_EQ(count, R"({"result": 3})");
  EXPECT_EQ(run({"relay", "--listen", "tcp://127.0.0.1:*"}).status, 3);
}

TEST(Cli, UnreachableAndUsageErrors) {
  std::string dead;
  {
    ServeProcess gone;
    dead = gone.endpoint();
  }
  EXPECT_EQ(run({"call", dead, "add", "1", "2", "--timeout", "1"}).status, 2);
  EXPECT_EQ(run({"call"}).status, 3);
  EXPECT_EQ(run({"call", "tcp://127.0.0.1:1", "add", "--auth", "kerberos"}).status, 3);
  EXPECT_EQ(run({"call", "tcp://127.0.0.1:1", "add", "--no-such-flag", "1"}).status, 3);
  EXPECT_EQ(run({"frobnicate"}).status, 3);
  EXPECT_EQ(run({"--help"}).status, 0);
}

TEST(Cli, InspectHidesWhatPredicatesRefuse) {
  ServeProcess server;
  const Outcome listing = run({"inspect", server.endpoint()});
  ASSERT_EQ(listing.status, 0);
  std::string all;
  for (const auto& line : listing.lines) all += line + "\n";
  EXPECT_NE(all.find(R"({"name":"add","doc":"Returns a + b.","params":[{"name":"a","type":"any"},)"
                     R"j({"name":"b","type":"any"}],"args":false,"kwargs":false,"signature":"add(a, b)"})j"),
            std::string::npos)
      << all;
  EXPECT_EQ(all.find("admin.only"), std::string::npos) << all;
}

TEST(Cli, InspectShowsEachFunctionsParameters) {
  ServeProcess server;
  const Outcome listing = run({"inspect", server.endpoint()});
  ASSERT_EQ(listing.status, 0);
  std::string all;
  for (const auto& line : listing.lines) all += line + "\n";
  for (const char* signature :
       {R"j("signature":"greet(name: str, greeting: str = \"Hello\", punctuation: str = \"!\", **kwargs)"})j",
        R"j("signature":"echo_args(*args, **kwargs)"})j", R"j("signature":"fail(message: str = \"boom\")"})j",
        R"j("signature":"deferred_echo(value, delay_ms: int)"})j", R"j("signature":"ack_only()"})j",
        R"j("signature":"declared_error(message: str)"})j", R"j("signature":"whoami()"})j"}) {
    EXPECT_NE(all.find(signature), std::string::npos) << signature << "\n" << all;
  }
  EXPECT_NE(all.find(R"({"name":"sleep","doc":"Sleeps on the worker pool; returns seconds.",)"
                     R"("params":[{"name":"seconds","type":"float"}],"args":false,"kwargs":false,)"
                     R"j("signature":"sleep(seconds: float)"})j"),
            std::string::npos)
      << all;
}

TEST(Cli, HandlerFormDemosAnswerAsDocumented) {
  ServeProcess server;
  const std::string& at = server.endpoint();
  EXPECT_EQ(run({"call", at, "deferred_echo", "hi", "100"}).lines, (std::vector<std::string>{R"({"result": "hi"})"}));
  EXPECT_EQ(run({"call", at, "deferred_echo", "[1, 2]", "--kwargs", R"({"delay_ms": 0})"}).lines[0],
            R"({"result": [1,2]})");
  const Outcome too_long = run({"call", at, "deferred_echo", "hi", "60001"});
  EXPECT_EQ(too_long.status, 1);
  EXPECT_EQ(too_long.lines[0],
            R"({"error": {"name": "ValueError", "message": "deferred_echo: delay_ms must be 0..60000"}})");
  EXPECT_EQ(run({"call", at, "ack_only"}).lines[0], R"({"result": null})");
  const std::string nack = R"({"error": {"name": "Nack", "message": ""}})";
  for (const char* function : {"nack_me", "drop_channel"}) {
    const Outcome out = run({"call", at, function});
    EXPECT_EQ(out.status, 1) << function;
    EXPECT_EQ(out.lines[0], nack) << function;
  }
  const Outcome declared = run({"call", at, "declared_error", "bad input"});
  EXPECT_EQ(declared.status, 1);
  EXPECT_EQ(declared.lines[0], R"({"error": {"name": "ValueError", "message": "bad input"}})");
  const Outcome undeclared = run({"call", at, "undeclared_error", "the secret"});
  EXPECT_EQ(undeclared.status, 1);
  EXPECT_EQ(undeclared.lines, (std::vector<std::string>{nack}));
}

TEST(Cli, ServerCallsTheClientBackAndStopsCleanly) {
  ServeProcess server({"--call", R"(me:string.upper:["hi"])"});
  const Outcome client = run({"call", server.endpoint(), "call_me_back", "string.lower", "LOUD", "--serve", "1",
                              "--identity", "me"});
  EXPECT_EQ(client.status, 0);
  std::vector<std::string> events;
  EXPECT_EQ(server.terminate(events), 0);
  std::string all;
  for (const auto& line : events) all += line + "\n";
  EXPECT_NE(all.find(R"({"event": "joined", "peer": "me", "user": ""})"), std::string::npos) << all;
  EXPECT_NE(all.find(R"({"event": "call", "peer": "me", "func": "string.upper", "result": "HI"})"), std::string::npos)
      << all;
  EXPECT_NE(all.find(R"({"event": "callback", "peer": "me", "func": "string.lower", "result": "loud"})"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find(R"({"event": "stopped"})"), std::string::npos) << all;
}

TEST(Cli, PlainAuthenticationFromTheCommandLine) {
  ServeProcess server({"--auth", "plain", "--user", "alice=s3cret"});
  const Outcome good = run({"call", server.endpoint(), "whoami", "--auth", "plain", "--user", "alice", "--password", "s3cret"});
  EXPECT_EQ(good.lines[0], R"({"result": "alice"})");
  const Outcome bad = run({"call", server.endpoint(), "whoami", "--auth", "plain", "--user", "alice", "--password", "nope"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.lines[0].find("HandshakeError"), std::string::npos) << bad.lines[0];
}

TEST(Cli, InstancesAnswerByTheServiceNameAndAListOfEndpointsSpreadsCalls) {
  ServeProcess a({"--name", "svc", "--instance", "a"});
  ServeProcess b({"--name", "svc", "--instance", "b"});
  EXPECT_NE(a.ready().find(R"("routing_id": "svc@a")"), std::string::npos) << a.ready();
  const Outcome one = run({"call", a.endpoint(), "server_instance", "--server-name", "svc"});
  EXPECT_EQ(one.status, 0);
  ASSERT_EQ(one.lines.size(), 1u);
  EXPECT_EQ(one.lines[0], R"({"result": "a"})");
  const Outcome spread = run({"call", a.endpoint() + "," + b.endpoint(), "server_instance", "--server-name", "svc",
                              "--repeat", "10", "--policy", "round_robin"});
  EXPECT_EQ(spread.status, 0);
  int from_a = 0, from_b = 0;
  for (const auto& line : spread.lines) {
    from_a += line == R"({"result": "a"})";
    from_b += line == R"({"result": "b"})";
  }
  EXPECT_EQ(from_a, 5);  // both up before the first call (it waits for them, briefly)
  EXPECT_EQ(from_b, 5);
  EXPECT_EQ(run({"call", a.endpoint() + ",", "server_instance"}).status, 3);
  EXPECT_EQ(run({"call", a.endpoint() + "," + b.endpoint(), "server_instance", "--policy", "random"}).status, 3);
}

TEST(Cli, HealthExitsZeroOnlyWhenServing) {
  ServeProcess server;
  const Outcome serving = run({"health", server.endpoint()});
  EXPECT_EQ(serving.status, 0);
  ASSERT_EQ(serving.lines.size(), 1u);
  EXPECT_EQ(serving.lines[0], R"({"status": "SERVING"})");
  const Outcome unknown = run({"health", server.endpoint(), "no-such-service"});
  EXPECT_EQ(unknown.status, 1);
  ASSERT_EQ(unknown.lines.size(), 1u);
  EXPECT_NE(unknown.lines[0].find("ServiceNotFoundError"), std::string::npos) << unknown.lines[0];
  RefusingPort nobody;
  EXPECT_EQ(run({"health", nobody.endpoint(), "--timeout", "0.5"}).status, 2);
}

TEST(Cli, SigtermLetsACallInFlightFinishAndRefusesNewOnes) {
  ServeProcess server({"--grace", "5"});
  ASSERT_FALSE(server.endpoint().empty()) << server.ready();
  Client client("server");
  client.connect(server.endpoint());
  CallOptions options;
  options.timeout = 10s;
  auto slow = client.async_call<double>("sleep", 1.0, options);
  // One connection's calls arrive in order: when echo answers, sleep has arrived and runs.
  ASSERT_EQ(client.call<std::string>("echo", "after", options), "after");
  const auto sent_term = std::chrono::steady_clock::now();
  std::vector<std::string> rest;
  std::jthread stopper([&] { EXPECT_EQ(server.terminate(rest), 0); });
  // Refused fast while the call in flight finishes (polled: SIGTERM takes a moment to arrive).
  bool refused = false;
  while (!refused && slow.wait_for(0s) != std::future_status::ready) {
    try {
      client.call<std::string>("echo", "late", CallOptions{.timeout = 2s});
    } catch (const UnavailableError&) {
      refused = true;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "a call during the drain failed otherwise than refused: " << e.what();
      break;
    }
  }
  EXPECT_DOUBLE_EQ(slow.get(), 1.0);
  const auto finished = std::chrono::steady_clock::now();
  stopper.join();
  EXPECT_TRUE(refused) << "no call was refused while the server drained";
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back(), R"({"event": "stopped"})");
  std::printf("[figure] pseud serve, SIGTERM with a 1 s call in flight: it finished %lld ms after the signal\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(finished - sent_term).count()));
}

// `pseud plugin` and the counter plugin (examples/counter_plugin.cpp).
const std::string counter_plugin = PSEUD_COUNTER_PLUGIN;
const std::string counter_cookie = "COUNTER_PLUGIN=counter-v1";

// A run of the tool with its stderr kept and the time each stdout line came.
struct TimedOutcome {
  std::vector<std::string> lines;
  std::vector<long long> at_ms;  // since the start, one per line
  std::string errors;            // all of stderr
  int status = -1;
  long long total_ms = 0;
};

// Runs `pseud WORDS...` to completion, like run(), keeping stderr in a temporary file. The tool
// holds SIGTERM blocked while it works, so `timeout` follows it with SIGKILL (the plugin then gets
// SIGTERM from the kernel: PR_SET_PDEATHSIG).
TimedOutcome run_timed(const std::vector<std::string>& words) {
  TimedOutcome outcome;
  char errors_path[] = "/tmp/pseud-cli-stderr-XXXXXX";
  const int errors_fd = mkstemp(errors_path);
  if (errors_fd < 0) return outcome;
  close(errors_fd);
  std::vector<std::string> all{"timeout", "-k", "5", "20", tool};
  all.insert(all.end(), words.begin(), words.end());
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed_ms = [start] {
    return static_cast<long long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
  };
  if (FILE* pipe = popen((command_of(all) + " 2>" + quote(errors_path)).c_str(), "r")) {
    char buffer[65536];
    while (std::fgets(buffer, sizeof buffer, pipe)) {
      std::string line(buffer);
      if (!line.empty() && line.back() == '\n') line.pop_back();
      outcome.lines.push_back(line);
      outcome.at_ms.push_back(elapsed_ms());
    }
    const int raw = pclose(pipe);
    outcome.total_ms = elapsed_ms();
    outcome.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  }
  if (FILE* errors = std::fopen(errors_path, "r")) {
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, errors)) > 0;) outcome.errors.append(buffer, n);
    std::fclose(errors);
  }
  unlink(errors_path);
  return outcome;
}

std::string all_lines(const TimedOutcome& out) {
  std::string all;
  for (const auto& line : out.lines) all += line + "\n";
  return all + "stderr:\n" + out.errors;
}

TEST(Cli, PluginStartsTheCounterCallsItInOrderAndClosesIt) {
  const TimedOutcome out = run_timed({"plugin", "--cookie", counter_cookie, "--versions", "1,2", "--call", "count:[]",
                                      "--call", "count:[]", "--call", "count:[]", "--call", "get_count:[]", "--",
                                      counter_plugin});
  EXPECT_EQ(out.status, 0) << all_lines(out);
  ASSERT_EQ(out.lines.size(), 6u) << all_lines(out);
  const std::string started_prefix = R"({"event": "started", "version": 2, "pid": )";
  ASSERT_EQ(out.lines[0].rfind(started_prefix, 0), 0u) << out.lines[0];
  EXPECT_NE(out.lines[0].find(R"(, "endpoint": "ipc://)"), std::string::npos) << out.lines[0];
  EXPECT_EQ(out.lines[1], R"({"result": 1})");
  EXPECT_EQ(out.lines[2], R"({"result": 2})");
  EXPECT_EQ(out.lines[3], R"({"result": 3})");
  EXPECT_EQ(out.lines[4], R"({"result": 3})");
  EXPECT_EQ(out.lines[5], R"({"event": "closed", "exit": 0})");
  // The tool reaped it before it said "closed": the process is gone.
  const pid_t pid = std::stoi(out.lines[0].substr(started_prefix.size()));
  const int signalled = kill(pid, 0);
  const int error = errno;
  EXPECT_EQ(signalled, -1);
  EXPECT_EQ(error, ESRCH);
  std::printf("[figure] pseud plugin, C++ counter: started line %lld ms after the start, 4 calls and the close "
              "%lld ms later, whole run %lld ms\n",
              out.at_ms[0], out.at_ms[5] - out.at_ms[0], out.total_ms);
}

TEST(Cli, PluginLoadsThePythonCounter) {
  // pyplugin.py is the counter too, written in Python on Debian's python3-zmq and python3-msgpack.
  if (std::system("/usr/bin/python3 -c 'import zmq, msgpack' 2>/dev/null") != 0)
    GTEST_SKIP() << "/usr/bin/python3 cannot import zmq and msgpack (apt-get install python3-zmq python3-msgpack)";
  const TimedOutcome out = run_timed({"plugin", "--cookie", "PSEUD_PYPLUGIN=python", "--versions", "1,2", "--call",
                                      "count:[]", "--call", "count:[]", "--call", "reset:[]", "--call",
                                      "get_count:[]", "--call", "language:[]", "--", "/usr/bin/python3",
                                      PSEUD_PYPLUGIN, "--cookie", "PSEUD_PYPLUGIN=python"});
  EXPECT_EQ(out.status, 0) << all_lines(out);
  ASSERT_EQ(out.lines.size(), 7u) << all_lines(out);
  EXPECT_EQ(out.lines[0].rfind(R"({"event": "started", "version": 2, "pid": )", 0), 0u) << out.lines[0];
  EXPECT_EQ(out.lines[1], R"({"result": 1})");
  EXPECT_EQ(out.lines[2], R"({"result": 2})");
  EXPECT_EQ(out.lines[3], R"({"result": null})");
  EXPECT_EQ(out.lines[4], R"({"result": 0})");
  EXPECT_EQ(out.lines[5], R"({"result": "python"})");
  EXPECT_EQ(out.lines[6], R"({"event": "closed", "exit": 0})");
  std::printf("[figure] pseud plugin, Python counter: started line after %lld ms, whole run %lld ms\n", out.at_ms[0],
              out.total_ms);
}

TEST(Cli, PluginPinnedBySha256RunsOnlyWithThatDigest) {
  const auto digest_of = [](const std::string& path) {
    FILE* pipe = popen(("sha256sum '" + path + "'").c_str(), "r");
    char hex[65] = {};
    const bool read = pipe && std::fread(hex, 1, 64, pipe) == 64;
    if (pipe) pclose(pipe);
    return read ? std::string(hex) : std::string();
  };
  const std::string digest = digest_of(counter_plugin);
  ASSERT_EQ(digest.size(), 64u) << "sha256sum gave nothing for " << counter_plugin;
  const TimedOutcome pinned =
      run_timed({"plugin", "--cookie", counter_cookie, "--sha256", digest, "--call", "count:[]", "--", counter_plugin});
  EXPECT_EQ(pinned.status, 0) << all_lines(pinned);
  ASSERT_EQ(pinned.lines.size(), 3u) << all_lines(pinned);
  EXPECT_EQ(pinned.lines[1], R"({"result": 1})");
  const std::string other(64, digest[0] == 'f' ? 'e' : 'f');
  const TimedOutcome refused =
      run_timed({"plugin", "--cookie", counter_cookie, "--sha256", other, "--call", "count:[]", "--", counter_plugin});
  EXPECT_EQ(refused.status, 2) << all_lines(refused);
  ASSERT_EQ(refused.lines.size(), 1u) << all_lines(refused);
  EXPECT_NE(refused.lines[0].find("not the pinned " + other), std::string::npos) << refused.lines[0];
  std::printf("[figure] pseud plugin --sha256: the right digest runs (%lld ms in all), another is refused in %lld ms\n",
              pinned.total_ms, refused.total_ms);
}

TEST(Cli, PluginAtVersionOneHasNoReset) {
  const TimedOutcome out = run_timed({"plugin", "--cookie", counter_cookie, "--versions", "1", "--call", "count:[]",
                                      "--call", "reset:[]", "--call", "get_count:[]", "--", counter_plugin});
  EXPECT_EQ(out.status, 1) << all_lines(out);
  ASSERT_EQ(out.lines.size(), 5u) << all_lines(out);
  EXPECT_EQ(out.lines[0].rfind(R"({"event": "started", "version": 1, "pid": )", 0), 0u) << out.lines[0];
  EXPECT_EQ(out.lines[1], R"({"result": 1})");
  EXPECT_EQ(out.lines[2].rfind(R"({"error": {"name": "ServiceNotFoundError", "message": )", 0), 0u) << out.lines[2];
  EXPECT_EQ(out.lines[3], R"({"result": 1})");  // the failed call changed nothing, and later calls go on
  EXPECT_EQ(out.lines[4], R"({"event": "closed", "exit": 0})");
  std::printf("[figure] pseud plugin, counter at version 1: started line after %lld ms, whole run %lld ms\n",
              out.at_ms[0], out.total_ms);
}

TEST(Cli, PluginWithNoVersionInCommonExitsTwoNamingBothLists) {
  // Everything after "--" is the plugin's, its own --versions too.
  const TimedOutcome out = run_timed({"plugin", "--cookie", counter_cookie, "--versions", "1,2", "--call", "count:[]",
                                      "--", counter_plugin, "--versions", "3"});
  EXPECT_EQ(out.status, 2) << all_lines(out);
  ASSERT_EQ(out.lines.size(), 1u) << all_lines(out);  // no started line, no call made
  EXPECT_EQ(out.lines[0].rfind(R"({"error": {"name": "PluginError", "message": )", 0), 0u) << out.lines[0];
  EXPECT_NE(out.errors.find("supports 1,2"), std::string::npos) << out.errors;
  EXPECT_NE(out.errors.find("supports 3"), std::string::npos) << out.errors;
  std::printf("[figure] pseud plugin, no version in common: refused (exit 2) %lld ms after the start\n",
              out.total_ms);
}

TEST(Cli, PluginWithTheWrongCookieExitsTwoShowingWhatThePluginSaid) {
  const TimedOutcome out = run_timed({"plugin", "--cookie", "COUNTER_PLUGIN=someone-else", "--call", "count:[]", "--",
                                      counter_plugin});
  EXPECT_EQ(out.status, 2) << all_lines(out);
  ASSERT_EQ(out.lines.size(), 1u) << all_lines(out);
  EXPECT_EQ(out.lines[0].rfind(R"({"error": {"name": "PluginError", "message": )", 0), 0u) << out.lines[0];
  // The plugin's own line, relayed to stderr under its name (and never to stdout): it names the cookie.
  const auto relayed = out.errors.find("plugin counter_plugin: ");
  ASSERT_NE(relayed, std::string::npos) << out.errors;
  EXPECT_NE(out.errors.substr(relayed, out.errors.find('\n', relayed) - relayed).find("COUNTER_PLUGIN"),
            std::string::npos)
      << out.errors;
  std::printf("[figure] pseud plugin, wrong cookie: refused (exit 2) %lld ms after the start\n", out.total_ms);
}

TEST(Cli, PluginThatDoesNotExistExitsTwoNamingThePath) {
  const std::string missing = "/nonexistent/pseud-cli-test/no_such_plugin";
  const TimedOutcome out = run_timed({"plugin", "--cookie", counter_cookie, "--", missing});
  EXPECT_EQ(out.status, 2) << all_lines(out);
  ASSERT_EQ(out.lines.size(), 1u) << all_lines(out);
  EXPECT_EQ(out.lines[0].rfind(R"({"error": {"name": "PluginError", "message": )", 0), 0u) << out.lines[0];
  EXPECT_NE(out.errors.find(missing), std::string::npos) << out.errors;
  std::printf("[figure] pseud plugin, no such program: refused (exit 2) %lld ms after the start\n", out.total_ms);
}

TEST(Cli, PluginUsageErrorsExitThreeWithoutStartingIt) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(run({"plugin", "--", counter_plugin}).status, 3);                                // no cookie
  EXPECT_EQ(run({"plugin", "--cookie", counter_cookie}).status, 3);                          // no program
  EXPECT_EQ(run({"plugin", "--cookie", "=x", "--", counter_plugin}).status, 3);              // no cookie name
  EXPECT_EQ(run({"plugin", "--cookie", counter_cookie, "--versions", "1,x", "--", counter_plugin}).status, 3);
  EXPECT_EQ(run({"plugin", "--cookie", counter_cookie, "--call", "count", "--", counter_plugin}).status, 3);
  EXPECT_EQ(run({"plugin", "--cookie", counter_cookie, "--call", "count:{}", "--", counter_plugin}).status, 3);
  std::printf("[figure] pseud plugin, 6 usage errors: %lld ms in all\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - start)
                                         .count()));
}

// --- the command line (CLI11) ----------------------------------------------

std::string joined(const std::vector<std::string>& lines) {
  std::string all;
  for (const auto& line : lines) all += line + "\n";
  return all;
}

// The words of a line that are separated by spaces.
std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> cells;
  std::size_t at = 0;
  while ((at = line.find_first_not_of(' ', at)) != std::string::npos) {
    const auto end = line.find(' ', at);
    cells.push_back(line.substr(at, end - at));
    at = end;
  }
  return cells;
}

const std::vector<std::string> subcommands = {"call",      "inspect", "stats", "serve",  "health", "discover",
                                              "emit",      "subscribe", "relay", "plugin", "keygen"};

TEST(Cli, HelpAtEveryLevelPrintsUsageAndExitsZero) {
  const Outcome top = run({"--help"});
  EXPECT_EQ(top.status, 0);
  const std::string listing = joined(top.lines);
  EXPECT_NE(listing.find("Usage: pseud [OPTIONS] [SUBCOMMAND]"), std::string::npos) << listing;
  EXPECT_NE(listing.find("Exit status: 0 ok"), std::string::npos) << listing;
  for (const std::string& subcommand : subcommands) {
    EXPECT_NE(listing.find("\n  " + subcommand + " "), std::string::npos) << subcommand << " is not listed";
    for (const char* help : {"--help", "-h"}) {
      const Outcome out = run({subcommand, help});
      EXPECT_EQ(out.status, 0) << subcommand << " " << help;
      EXPECT_NE(joined(out.lines).find("Usage: pseud " + subcommand + " [OPTIONS]"), std::string::npos)
          << subcommand << " " << help << ":\n" << joined(out.lines);
    }
  }
  EXPECT_NE(joined(run({"serve", "--help"}).lines).find("--allow-metrics"), std::string::npos);
  // --help wins over the rest of the line: nothing is called, nothing is served.
  const Outcome call_help = run({"call", "tcp://127.0.0.1:1", "add", "1", "--help"});
  EXPECT_EQ(call_help.status, 0);
  EXPECT_NE(joined(call_help.lines).find("Usage: pseud call"), std::string::npos);
  EXPECT_EQ(run({"help"}).status, 0);
  // No subcommand: the usage on stderr, nothing on stdout, exit 3.
  const TimedOutcome none = run_timed({});
  EXPECT_EQ(none.status, 3);
  EXPECT_TRUE(none.lines.empty()) << all_lines(none);
  EXPECT_NE(none.errors.find("Usage: pseud"), std::string::npos) << none.errors;
}

TEST(Cli, DoubleDashEndsTheOptions) {
  ServeProcess server;
  const std::string& at = server.endpoint();
  // Every word after the first "--" is an argument, "--" and options too; that first "--" is not sent.
  EXPECT_EQ(run({"call", at, "echo_args", "a", "--", "-x", "--kwargs", "--", "[1, 2]"}).lines,
            (std::vector<std::string>{R"({"result": {"args":["a","-x","--kwargs","--",[1,2]],"kwargs":{}}})"}));
  EXPECT_EQ(run({"call", at, "echo", "--", "-x"}).lines, (std::vector<std::string>{R"({"result": "-x"})"}));
  EXPECT_EQ(run({"call", at, "add", "1", "2", "--"}).lines, (std::vector<std::string>{R"({"result": 3})"}));
  EXPECT_EQ(run({"call", at, "--", "add", "1", "2"}).lines, (std::vector<std::string>{R"({"result": 3})"}));
  // Options go anywhere before it; negative numbers and '-' are arguments without it.
  EXPECT_EQ(run({"call", "--repeat", "2", at, "add", "-1", "--timeout", "5", "-2"}).lines,
            (std::vector<std::string>(2, R"({"result": -3})")));
  // A JSON array is one argument, commas and all.
  EXPECT_EQ(run({"call", at, "echo_args", "[1, 2]", "[]"}).lines,
            (std::vector<std::string>{R"({"result": {"args":[[1,2],[]],"kwargs":{}}})"}));
  // Without "--", a word that starts with '-' and is not a number is an unknown option.
  const TimedOutcome dash = run_timed({"call", at, "echo", "-x"});
  EXPECT_EQ(dash.status, 3);
  EXPECT_TRUE(dash.lines.empty()) << all_lines(dash);
  EXPECT_NE(dash.errors.find("not expected: -x"), std::string::npos) << dash.errors;
}

TEST(Cli, CommandLineErrorsNameTheOptionAndExitThree) {
  struct Case {
    std::vector<std::string> words;
    std::string named;
  };
  const std::string nobody = "tcp://127.0.0.1:1";
  const std::vector<Case> cases = {
      {{"call", nobody, "add", "--no-such-flag", "1"}, "--no-such-flag"},       // unknown
      {{"call", nobody, "add", "--timeout"}, "--timeout"},                      // no value
      {{"call", nobody, "add", "--timeout", "soon"}, "--timeout"},              // bad value
      {{"call", nobody, "add", "--timeout", "1", "--timeout", "2"}, "--timeout"},  // twice
      {{"call", nobody, "add", "--repeat", "0"}, "--repeat"},
      {{"call", nobody, "add", "--auth", "kerberos"}, "--auth"},
      {{"call", nobody, "add", "--notify=yes"}, "notify"},
      {{"serve", "tcp://127.0.0.1:*", "--grace"}, "--grace"},
      {{"serve", "tcp://127.0.0.1:*", "--bogus"}, "--bogus"},
      {{"stats", nobody, "--json=yes"}, "json"},
      {{"stats", nobody, "--server"}, "--server"},
      {{"plugin", "--cookie"}, "--cookie"},
      {{"relay", "--listen", "tcp://127.0.0.1:*", "--forward", nobody, "--mode", "sideways"}, "--mode"},
      {{"subscribe", nobody, "a.b", "--count", "-1"}, "--count"},
      {{"keygen", "--bits", "4096"}, "--bits"},
  };
  for (const Case& c : cases) {
    const TimedOutcome out = run_timed(c.words);
    EXPECT_EQ(out.status, 3) << command_of(c.words) << "\n" << all_lines(out);
    EXPECT_TRUE(out.lines.empty()) << command_of(c.words) << "\n" << all_lines(out);
    EXPECT_NE(out.errors.find(c.named), std::string::npos) << command_of(c.words) << "\n" << out.errors;
    EXPECT_NE(out.errors.find("--help"), std::string::npos) << command_of(c.words) << "\n" << out.errors;
  }
}

// --- pseud stats --------------------------------------------------------------

// The "calls" of FUNCTION's incoming row in a `pseud stats --json` line, or -1.
long incoming_calls(const std::string& json_line, const std::string& function) {
  const std::string row = R"({"function":")" + function + R"(","side":"incoming","calls":)";
  const auto at = json_line.find(row);
  return at == std::string::npos ? -1 : std::stol(json_line.substr(at + row.size()));
}

TEST(Cli, StatsShowsTheCallsOfAServerThatAllowsIt) {
  ServeProcess server({"--allow-metrics"});
  ASSERT_FALSE(server.endpoint().empty()) << server.ready();
  const std::string& at = server.endpoint();
  ASSERT_EQ(run({"call", at, "add", "1", "2"}).status, 0);
  const Outcome json = run({"stats", at, "--json"});
  EXPECT_EQ(json.status, 0);
  ASSERT_EQ(json.lines.size(), 1u);
  EXPECT_EQ(json.lines[0].rfind(R"({"peer":"server","functions":[)", 0), 0u) << json.lines[0];
  EXPECT_GE(incoming_calls(json.lines[0], "add"), 1) << json.lines[0];
  // The table: the peer, a header, then one row per function and side, aligned.
  const Outcome table = run({"stats", at, "--server", "server"});
  EXPECT_EQ(table.status, 0);
  ASSERT_GE(table.lines.size(), 3u) << joined(table.lines);
  EXPECT_EQ(table.lines[0], "peer server");
  EXPECT_EQ(cells_of(table.lines[1]), (std::vector<std::string>{"function", "side", "calls", "errors", "in_flight",
                                                                "timeouts", "refused", "p50_ms", "p90_ms", "p99_ms",
                                                                "max_ms"}));
  long add_calls = -1;
  for (std::size_t i = 2; i < table.lines.size(); ++i) {
    EXPECT_EQ(table.lines[i].size(), table.lines[1].size()) << joined(table.lines);
    const auto cells = cells_of(table.lines[i]);
    ASSERT_EQ(cells.size(), 11u) << table.lines[i];
    if (cells[0] == "add" && cells[1] == "incoming") add_calls = std::stol(cells[2]);
  }
  EXPECT_GE(add_calls, 1) << joined(table.lines);
}

TEST(Cli, StatsIsRefusedByAServerThatDoesNotAllowIt) {
  ServeProcess server;
  ASSERT_FALSE(server.endpoint().empty()) << server.ready();
  ASSERT_EQ(run({"call", server.endpoint(), "add", "1", "2"}).status, 0);
  for (const char* form : {"--json", "--server-name"}) {
    std::vector<std::string> words{"stats", server.endpoint(), form};
    if (std::string(form) == "--server-name") words.push_back("server");
    const TimedOutcome out = run_timed(words);
    EXPECT_EQ(out.status, 1) << all_lines(out);
    ASSERT_EQ(out.lines.size(), 1u) << all_lines(out);
    EXPECT_EQ(out.lines[0].rfind(R"({"error": {"name": "ServiceNotFoundError", "message": )", 0), 0u) << out.lines[0];
    EXPECT_NE(out.errors.find("pseud serve --allow-metrics"), std::string::npos) << out.errors;
  }
}

#if PSEUD_TEST_ETCD
TEST(Cli, ServeRegistersInEtcdAndWithdrawsOnSigtermBeforeItCloses) {
  if (!EtcdServer::installed()) GTEST_SKIP() << "etcd-server is not installed: apt-get install etcd-server";
  EtcdServer etcd;
  ServeProcess a({"--name", "svc", "--instance", "a", "--register", etcd.address(), "--version", "1.2.0", "--ttl", "2"});
  EXPECT_NE(a.next_line().find(R"("event": "registered")"), std::string::npos);
  const Outcome found = run({"discover", etcd.address(), "svc"});
  EXPECT_EQ(found.status, 0);
  ASSERT_EQ(found.lines.size(), 1u);
  EXPECT_NE(found.lines[0].find(R"("instance": "a", "routing_id": "svc@a", "endpoints": [")" + a.endpoint() + "\"]"),
            std::string::npos)
      << found.lines[0];
  EXPECT_NE(found.lines[0].find(R"("version": "1.2.0")"), std::string::npos) << found.lines[0];
  const Outcome called = run({"call", "--service", "svc", "--discovery", etcd.address(), "server_instance"});
  EXPECT_EQ(called.status, 0);
  ASSERT_EQ(called.lines.size(), 1u);
  EXPECT_EQ(called.lines[0], R"({"result": "a"})");
  ServeProcess other({"--name", "other", "--instance", "x", "--register", etcd.address()});
  EXPECT_NE(other.next_line().find(R"("event": "registered")"), std::string::npos);
  const Outcome everything = run({"discover", etcd.address()});
  EXPECT_EQ(everything.status, 0);
  ASSERT_EQ(everything.lines.size(), 2u);
  EXPECT_NE(everything.lines[0].find(R"({"service": "other", "instance": "x")"), std::string::npos);
  EXPECT_NE(everything.lines[1].find(R"({"service": "svc", "instance": "a")"), std::string::npos);
  std::vector<std::string> rest;
  EXPECT_EQ(a.terminate(rest), 0);
  // Withdrawn by the graceful stop, not left to expire with its lease (2 s).
  EXPECT_TRUE(run({"discover", etcd.address(), "svc"}).lines.empty());
  EXPECT_EQ(run({"discover", "nonsense://x", "svc"}).status, 3);
  etcd.stop();
  const Outcome etcd_down = run({"call", "--service", "svc", "--discovery", etcd.address(), "server_instance"});
  EXPECT_EQ(etcd_down.status, 2);
  ASSERT_EQ(etcd_down.lines.size(), 1u);
  EXPECT_NE(etcd_down.lines[0].find("DiscoveryError"), std::string::npos) << etcd_down.lines[0];
  EXPECT_EQ(run({"discover", etcd.address()}).status, 2);
}
#endif

}  // namespace
}  // namespace pseud::test
