// Interop with a Python pseud v1 peer, both directions, over tcp://127.0.0.1.
//
// The Python side is tests/interop/pypeer.py: our own small peer written on
// Debian's python3-zmq and python3-msgpack from PROTOCOL-NOTES' description of
// Python pseud (CI has no internet, so the real pseud cannot be installed).
// It runs as a child process of /usr/bin/python3, found through PSEUD_PYPEER;
// the tests skip when /usr/bin/python3 lacks zmq or msgpack.
//
//   * C++ Client -> Python server: plain calls, keyword arguments with
//     defaults and **extra, bytes / unicode / nested maps / u64 max, every error
//     path, the Python server calling the C++ client back, a late reply, and
//     the plain and trusted_curve backends;
//   * Python client -> C++ Server: the same list against C++ handlers, the C++
//     server calling the Python client through the identity it learned, and
//     the plain, trusted_curve and untrusted_curve (in-band HELLO) backends.
//
// The Python peer reports every frame set that Python pseud could not handle
// (or a correct peer never sends) as an "anomaly" event, and every body that
// Python would have encoded differently as a "noncanonical" event. Either one
// fails the test, and each test ends by closing the peer's stdin and checking
// its exit report. Every wait is bounded; the child is SIGKILLed and reaped
// whatever happens.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "child_process.hpp"
#include "pseud/pseud.hpp"
#include "test_support.hpp"

namespace pseud::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* python = "/usr/bin/python3";
// A call's own timeout is 5 s (pseud's default): replies are awaited a little longer.
constexpr auto reply_bound = 10s;

const std::pair<std::string, std::string> cheap_hash{"hash_cost", "minimal"};

std::string pypeer_path() {
  if (const char* path = std::getenv("PSEUD_PYPEER"); path && *path) return path;
  // Not run by meson: next to this source file, if the path compiled in still resolves.
  return (std::filesystem::path(__FILE__).parent_path() / "pypeer.py").string();
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

// "ready" for {"event": "ready", ...}; empty for a reply line.
std::string event_kind(const std::string& line) {
  static constexpr std::string_view prefix = R"({"event": ")";
  if (!starts_with(line, prefix)) return {};
  const auto end = line.find('"', prefix.size());
  return end == std::string::npos ? std::string() : line.substr(prefix.size(), end - prefix.size());
}

// The string value of "key" in a flat JSON line (no escapes needed for our uses).
std::string json_string_field(const std::string& line, const std::string& key) {
  const std::string marker = "\"" + key + "\": \"";
  const auto at = line.find(marker);
  if (at == std::string::npos) return {};
  const auto begin = at + marker.size();
  const auto end = line.find('"', begin);
  return end == std::string::npos ? std::string() : line.substr(begin, end - begin);
}

// ---- child processes -----------------------------------------------------------

// Children of this test may be written to after they died: EPIPE, not death.
// Their stderr is inherited, so a Python traceback shows in the test log.
ChildProcessOptions python_options(bool quiet_stderr = false) {
  return {.quiet_stderr = quiet_stderr, .ignore_sigpipe = true, .spawn_hint = {}};
}

// Empty when /usr/bin/python3 can import zmq and msgpack; otherwise why not.
const std::string& python_problem() {
  static const std::string problem = []() -> std::string {
    if (::access(python, X_OK) != 0) return std::string(python) + " is not installed";
    try {
      ChildProcess check(python, {"-c", "import zmq, msgpack; print('ok')"}, python_options(true));
      const auto line = check.read_line(20s);
      if (line == "ok") return {};
      return std::string(python) + " cannot import zmq and msgpack";
    } catch (const std::exception& e) {
      return e.what();
    }
  }();
  return problem;
}

// ---- the Python peer -------------------------------------------------------------

// pypeer.py as a child process: requests go in on stdin, reply lines and
// event lines come out on stdout. Anomaly and noncanonical events fail the test.
class PyPeer {
 public:
  explicit PyPeer(const std::vector<std::string>& args) : process_(python, with_script(args), python_options()) {}
  PyPeer(const PyPeer&) = delete;
  PyPeer& operator=(const PyPeer&) = delete;

  // Waits for {"event": "ready", ...}; false (and a failure) when it does not come.
  bool wait_ready() {
    const auto line = wait_event("ready", 20s);  // Python's start-up is slow on a loaded machine
    if (!line) return false;
    endpoint_ = json_string_field(*line, "endpoint");
    return !endpoint_.empty();
  }

  const std::string& endpoint() const noexcept { return endpoint_; }

  // Client mode: sends one request line and returns its reply line.
  std::string request(const std::string& json, std::chrono::milliseconds limit = reply_bound) {
    if (!process_.write(json + "\n", 5000ms)) {
      ADD_FAILURE() << "cannot write to the Python client's stdin";
      return "<not sent>";
    }
    const auto until = Clock::now() + limit;
    while (replies_.empty()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
      if (left.count() <= 0 || !read_one(left)) {
        ADD_FAILURE() << "no reply from the Python client within " << limit.count() << " ms to " << json;
        return "<no reply>";
      }
    }
    std::string reply = replies_.front();
    replies_.pop_front();
    return reply;
  }

  // The next event of `kind` (events of other kinds read meanwhile are kept).
  std::optional<std::string> wait_event(std::string_view kind, std::chrono::milliseconds limit = reply_bound) {
    const auto until = Clock::now() + limit;
    while (true) {
      for (auto it = events_.begin(); it != events_.end(); ++it) {
        if (event_kind(*it) == kind) {
          std::string line = *it;
          events_.erase(it);
          return line;
        }
      }
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
      if (left.count() <= 0 || !read_one(left)) {
        ADD_FAILURE() << "no '" << kind << "' event from the Python peer within " << limit.count() << " ms";
        return std::nullopt;
      }
    }
  }

  // The harness self-test expects anomalies and noncanonical bodies; everything else expects none.
  void expect_reports(int anomalies, int noncanonical) {
    expected_anomalies_ = anomalies;
    expected_noncanonical_ = noncanonical;
  }

  // Closes its stdin and checks its exit report: no anomaly, nothing
  // noncanonical. Then kills and reaps it. Idempotent.
  void finish() {
    if (finished_) return;
    finished_ = true;
    process_.close_stdin();
    const auto line = wait_event("exit", 15s);  // a client finishes its in-flight call (5 s) first
    if (line) {
      EXPECT_EQ(*line, R"({"event": "exit", "anomalies": )" + std::to_string(expected_anomalies_) +
                           R"(, "noncanonical": )" + std::to_string(expected_noncanonical_) + "}");
    }
    EXPECT_TRUE(replies_.empty()) << "unclaimed reply lines, first: " << (replies_.empty() ? "" : replies_.front());
    process_.kill_and_reap();
  }

 private:
  static std::vector<std::string> with_script(const std::vector<std::string>& args) {
    std::vector<std::string> all{"-u", pypeer_path()};
    all.insert(all.end(), args.begin(), args.end());
    return all;
  }

  // Reads one line and files it; false at timeout or EOF.
  bool read_one(std::chrono::milliseconds limit) {
    const auto line = process_.read_line(limit);
    if (!line) return false;
    const std::string kind = event_kind(*line);
    if (kind.empty()) {
      replies_.push_back(*line);
      return true;
    }
    if (kind == "anomaly" && expected_anomalies_ == 0) {
      ADD_FAILURE() << "the Python peer reports a protocol anomaly (pseud would die or misbehave): " << *line;
    }
    if (kind == "noncanonical" && expected_noncanonical_ == 0) {
      ADD_FAILURE() << "wire difference: Python would encode this body differently: " << *line;
    }
    events_.push_back(*line);
    return true;
  }

  ChildProcess process_;
  std::string endpoint_;
  std::deque<std::string> replies_;
  std::deque<std::string> events_;
  int expected_anomalies_ = 0;
  int expected_noncanonical_ = 0;
  bool finished_ = false;
};

// ---- values shared by both directions -------------------------------------------

const std::string unicode_text = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x98\x83 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80";

std::string all_bytes() {
  std::string out;
  for (int i = 0; i < 256; ++i) out += static_cast<char>(i);
  return out;
}

void pack_str(msgpack::packer<msgpack::sbuffer>& p, std::string_view s) {
  p.pack_str(static_cast<std::uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

// nested = {"a": {"b": [1, 2, {"c": None}], "d": [True, False]}, "e": []}
void pack_nested(msgpack::packer<msgpack::sbuffer>& p) {
  p.pack_map(2);
  pack_str(p, "a");
  p.pack_map(2);
  pack_str(p, "b");
  p.pack_array(3);
  p.pack(1);
  p.pack(2);
  p.pack_map(1);
  pack_str(p, "c");
  p.pack_nil();
  pack_str(p, "d");
  p.pack_array(2);
  p.pack_true();
  p.pack_false();
  pack_str(p, "e");
  p.pack_array(0);
}

// pypeer.py's BLOB, field for field and in the same order.
msgpack::object_handle blob_object() {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> p(buffer);
  p.pack_map(10);
  pack_str(p, "bytes");
  p.pack(Bytes(all_bytes()));
  pack_str(p, "empty_bytes");
  p.pack(Bytes());
  pack_str(p, "text");
  pack_str(p, unicode_text);
  pack_str(p, "empty_text");
  pack_str(p, "");
  pack_str(p, "nested");
  pack_nested(p);
  pack_str(p, "u64_max");
  p.pack(std::numeric_limits<std::uint64_t>::max());
  pack_str(p, "i64_min");
  p.pack(std::numeric_limits<std::int64_t>::min());
  pack_str(p, "float");
  p.pack(1.5);
  pack_str(p, "empty_list");
  p.pack_array(0);
  pack_str(p, "empty_map");
  p.pack_map(0);
  return msgpack::unpack(buffer.data(), buffer.size());
}

// The blob as pypeer prints it (json.dumps, keys sorted, ASCII).
const std::string blob_json =
    R"({"bytes": {"$bytes": ")" + hex_encode(all_bytes()) +
    R"("}, "empty_bytes": {"$bytes": ""}, "empty_list": [], "empty_map": {}, "empty_text": "", "float": 1.5, )"
    R"("i64_min": -9223372036854775808, "nested": {"a": {"b": [1, 2, {"c": null}], "d": [true, false]}, "e": []}, )"
    R"("text": "h\u00e9llo w\u00f6rld \u2603 \u65e5\u672c \ud83d\ude00", "u64_max": 18446744073709551615})";

std::string packed(const msgpack::object& object) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, object);
  return std::string(buffer.data(), buffer.size());
}

msgpack::object_handle pack_to_object(const std::function<void(msgpack::packer<msgpack::sbuffer>&)>& fill) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> p(buffer);
  fill(p);
  return msgpack::unpack(buffer.data(), buffer.size());
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

PeerOptions with_auth(std::string name, Settings settings) {
  PeerOptions options;
  options.auth = {std::move(name), std::move(settings)};
  return options;
}

// A Python-side error reply line as pypeer prints it.
std::string error_line(const std::string& name, const std::string& remote_class, const std::string& message) {
  return R"({"error": {"message": ")" + message + R"(", "name": ")" + name + R"(", "remote_class": ")" +
         remote_class + R"("}})";
}

// A request line for the Python client.
std::string req(const std::string& func, const std::string& args = "[]", const std::string& kwargs = "{}",
                int timeout_s = 5) {
  return R"({"func": ")" + func + R"(", "args": )" + args + R"(, "kwargs": )" + kwargs + R"(, "timeout": )" +
         std::to_string(timeout_s) + "}";
}

// The message of the UsageError `f` throws; a failure when it throws none.
template <class F>
std::string usage_error_of(F&& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected UsageError, got: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected UsageError, the call succeeded";
  return {};
}

::testing::AssertionResult mentions(const std::string& text, std::initializer_list<std::string_view> parts) {
  for (std::string_view part : parts) {
    if (text.find(part) == std::string::npos) {
      return ::testing::AssertionFailure() << "no '" << part << "' in: " << text;
    }
  }
  return ::testing::AssertionSuccess();
}

// Runs `f` and prints how long it took as a [figure] line.
template <class F>
void timed_figure(const std::string& what, F&& f) {
  const auto start = Clock::now();
  f();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
  std::printf("[figure] %s: %lld us\n", what.c_str(), static_cast<long long>(us));
}

// A str whose bytes are not UTF-8 (binary data in a std::string).
const std::string binary_text("\xff\xfe bin", 6);

class Interop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!python_problem().empty()) {
      GTEST_SKIP() << "interop tests need " << python << " with zmq and msgpack: " << python_problem()
                   << " (apt-get install python3-zmq python3-msgpack; .ci/install-deps installs them)";
    }
  }
  void TearDown() override {
    if (py_) py_->finish();  // first: its report covers everything the C++ peer sent
  }

  // Starts pypeer with `args`; false (with a failure) when it did not come up.
  bool start_python(const std::vector<std::string>& args) {
    py_ = std::make_unique<PyPeer>(args);
    return py_->wait_ready();
  }

  std::unique_ptr<PyPeer> py_;
};

// =================================================================================
// (a) C++ Client -> Python server
// =================================================================================

class PythonServer : public Interop {
 protected:
  // Starts the Python server (with `server_args`) and a C++ client connected to it.
  void start(const std::vector<std::string>& server_args = {}, const PeerOptions& client_options = {}) {
    std::vector<std::string> args{"server", "tcp://127.0.0.1:*"};
    args.insert(args.end(), server_args.begin(), server_args.end());
    if (!start_python(args)) throw std::runtime_error("the Python peer did not start (see above)");
    client_ = std::make_unique<Client>("server", client_options);
    client_->register_rpc("client.double", [](std::int64_t x) { return 2 * x; }, {.params = {"x"}});
    client_->register_rpc("string.upper", [](const std::string& s) { return upper(s); }, {.params = {"s"}});
    client_->register_rpc("client.scale", [](std::int64_t x, std::int64_t factor) { return x * factor; },
                          {.params = {"x", param("factor", 2)}});
    client_->register_rpc("client.fail", [](const std::string& message) -> int { throw std::invalid_argument(message); },
                          {.params = {"message"}});
    client_->register_rpc("client.custom",
                          [](const std::string& message) -> int { throw RemoteError("CustomError", message); },
                          {.params = {"message"}});
    client_->connect(py_->endpoint());
  }

  // Asks the Python server to call `func` on this client, then returns the callback event.
  template <class... A>
  std::string callback_event(const std::string& func, A&&... args) {
    client_->call<void>("call_me_back", func, std::forward<A>(args)...);
    return py_->wait_event("callback").value_or("<no callback event>");
  }

  std::unique_ptr<Client> client_;
};

TEST_F(PythonServer, PlainCallsRoundTrip) {
  start();
  EXPECT_EQ(client_->call<int>("add", 1, 2), 3);
  EXPECT_EQ(client_->call<std::int64_t>("add", -40, std::int64_t{1} << 40), (std::int64_t{1} << 40) - 40);
  EXPECT_DOUBLE_EQ(client_->call<double>("add", 0.25, 1.0), 1.25);
  EXPECT_EQ(client_->call<std::string>("add", std::string("py"), std::string("thon")), "python");
  EXPECT_EQ(client_->call<std::string>("echo", std::string("text")), "text");
  EXPECT_EQ(client_->call<Bytes>("echo", Bytes(std::string("\x00\xff", 2))), Bytes(std::string("\x00\xff", 2)));
  EXPECT_EQ(client_->call<std::vector<int>>("echo", std::vector<int>{1, 2, 3}), (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(client_->call("echo", msgpack::type::nil_t{}).get().is_nil());

  // echo_args(*args, **kwargs) -> {"args": [...], "kwargs": {...}}
  const auto echoed = client_->call("echo_args", 1, std::string("a"), kw("k", msgpack::type::nil_t{}, "n", 2.5));
  const auto fields = echoed.get().as<std::map<std::string, msgpack::object>>();
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(packed(fields.at("args")), packed(pack_to_object([](auto& p) {
              p.pack_array(2);
              p.pack(1);
              pack_str(p, "a");
            }).get()));
  EXPECT_EQ(packed(fields.at("kwargs")), packed(pack_to_object([](auto& p) {
              p.pack_map(2);
              pack_str(p, "k");
              p.pack_nil();
              pack_str(p, "n");
              p.pack(2.5);
            }).get()));
}

struct GreetReply {
  std::string text;
  std::map<std::string, std::string> extra;
  MSGPACK_DEFINE_MAP(text, extra)
};

TEST_F(PythonServer, KeywordArgumentsDefaultsAndExtra) {
  start();
  auto reply = client_->call<GreetReply>("greet", std::string("bob"));
  EXPECT_EQ(reply.text, "Hello, bob!");
  EXPECT_TRUE(reply.extra.empty());

  reply = client_->call<GreetReply>("greet", std::string("bob"), kw("greeting", "Hi", "mood", "calm"));
  EXPECT_EQ(reply.text, "Hi, bob!");
  EXPECT_EQ(reply.extra, (std::map<std::string, std::string>{{"mood", "calm"}}));

  reply = client_->call<GreetReply>("greet", kw("punctuation", "?", "name", "eve", "x", "1", "y", "2"));
  EXPECT_EQ(reply.text, "Hello, eve?");
  EXPECT_EQ(reply.extra, (std::map<std::string, std::string>{{"x", "1"}, {"y", "2"}}));

  EXPECT_EQ(client_->call<int>("add", kw("b", 2, "a", 40)), 42);
  EXPECT_EQ(client_->call<std::string>("echo", kw("x", unicode_text)), unicode_text);
}

TEST_F(PythonServer, BytesUnicodeNestedMapsAndU64Max) {
  start();
  const msgpack::object_handle blob = client_->call("blob");
  // Python's packing, decoded and re-packed by msgpack-c, equals the blob built here byte for byte.
  EXPECT_EQ(hex_encode(packed(blob.get())), hex_encode(packed(blob_object().get())));

  const auto fields = blob.get().as<std::map<std::string, msgpack::object>>();
  ASSERT_EQ(fields.size(), 10u);
  EXPECT_EQ(fields.at("bytes").type, msgpack::type::BIN);
  EXPECT_EQ(fields.at("bytes").as<Bytes>().data, all_bytes());
  EXPECT_EQ(fields.at("empty_bytes").type, msgpack::type::BIN);
  EXPECT_EQ(fields.at("empty_bytes").via.bin.size, 0u);
  EXPECT_EQ(fields.at("text").type, msgpack::type::STR);
  EXPECT_EQ(fields.at("text").as<std::string>(), unicode_text);
  EXPECT_EQ(fields.at("empty_text").type, msgpack::type::STR);
  EXPECT_EQ(fields.at("u64_max").as<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(fields.at("i64_min").as<std::int64_t>(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(fields.at("float").type, msgpack::type::FLOAT64);
  EXPECT_EQ(fields.at("float").as<double>(), 1.5);
  EXPECT_EQ(fields.at("empty_list").type, msgpack::type::ARRAY);
  EXPECT_EQ(fields.at("empty_list").via.array.size, 0u);
  EXPECT_EQ(fields.at("empty_map").type, msgpack::type::MAP);
  EXPECT_EQ(fields.at("empty_map").via.map.size, 0u);
  EXPECT_EQ(packed(fields.at("nested")), packed(pack_to_object(pack_nested).get()));

  // And back: the C++ client sends it all as an argument; Python echoes it unchanged
  // (its noncanonical check also proves our WORK body is what Python would pack).
  const msgpack::object_handle echoed = client_->call("echo", blob.get());
  EXPECT_EQ(hex_encode(packed(echoed.get())), hex_encode(packed(blob.get())));
  EXPECT_EQ(client_->call<std::uint64_t>("echo", std::numeric_limits<std::uint64_t>::max()),
            std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(client_->call<Bytes>("echo", Bytes()), Bytes());
}

TEST_F(PythonServer, ErrorsArriveWithPythonClassNames) {
  start();
  auto remote_error = [&](auto&& call) -> std::optional<RemoteError> {
    try {
      call();
    } catch (const RemoteError& e) {
      return e;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "expected a RemoteError, got: " << e.what();
      return std::nullopt;
    }
    ADD_FAILURE() << "expected a RemoteError, the call succeeded";
    return std::nullopt;
  };

  auto e = remote_error([&] { client_->call<void>("fail"); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name(), "ValueError");
  EXPECT_EQ(e->message(), "boom");
  EXPECT_NE(e->traceback().find("Traceback (most recent call last)"), std::string::npos) << e->traceback();

  e = remote_error([&] { client_->call<void>("fail", kw("message", unicode_text)); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name(), "ValueError");
  EXPECT_EQ(e->message(), unicode_text);

  e = remote_error([&] { client_->call<void>("fail_custom", std::string("custom trouble")); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name(), "CustomError");
  EXPECT_EQ(e->message(), "custom trouble");

  try {
    client_->call<void>("no.such.function", 1);
    ADD_FAILURE() << "expected ServiceNotFoundError";
  } catch (const ServiceNotFoundError& nf) {
    EXPECT_EQ(nf.name(), "ServiceNotFoundError");
    EXPECT_EQ(nf.message(), "no.such.function");
  }

  e = remote_error([&] { client_->call<int>("add", 1, 2, 3); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name(), "TypeError");
  EXPECT_EQ(e->message(), "add() takes 2 positional arguments but 3 were given");

  e = remote_error([&] { client_->call<int>("add", 1); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name(), "TypeError");
  EXPECT_EQ(e->message(), "add() missing 1 required positional argument: 'b'");

  e = remote_error([&] { client_->call<int>("add", 1, 2, kw("c", 3)); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name(), "TypeError");
  EXPECT_EQ(e->message(), "add() got an unexpected keyword argument 'c'");

  EXPECT_EQ(client_->call<int>("add", 1, 2), 3);  // still serving after all that
}

// A relay in front of a Python pseud server: its ERRORs come through with
// their class, message and Python traceback, and its results unchanged.
TEST_F(PythonServer, ARelayPassesItsAnswersThroughUnchanged) {
  start();
  Server listener("relay");
  Client upstream("server");
  upstream.connect(py_->endpoint());
  Relay relay(listener, upstream);
  Client through("relay");
  through.connect(listener.bind("tcp://127.0.0.1:*"));
  EXPECT_EQ(through.call<int>("add", 1, 2), 3);
  EXPECT_EQ(through.call<std::string>("echo", unicode_text), unicode_text);
  try {
    through.call<void>("fail");
    ADD_FAILURE() << "expected a RemoteError";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.name(), "ValueError");
    EXPECT_EQ(e.message(), "boom");
    EXPECT_NE(e.traceback().find("Traceback (most recent call last)"), std::string::npos) << e.traceback();
  }
  try {
    through.call<int>("add", 1, 2, kw("c", 3));
    ADD_FAILURE() << "expected a RemoteError";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.name(), "TypeError");
    EXPECT_EQ(e.message(), "add() got an unexpected keyword argument 'c'");
  }
  EXPECT_EQ(relay.stats().answered, 4u);
}

TEST_F(PythonServer, WhoamiSeesAnAnonymousLibzmqRoutingId) {
  start();
  const msgpack::object_handle reply = client_->call("whoami");  // owns what `who` points into
  const auto who = reply.get().as<std::map<std::string, msgpack::object>>();
  EXPECT_EQ(who.at("user_id").as<std::string>(), "");
  ASSERT_EQ(who.at("routing_id").type, msgpack::type::BIN);
  const std::string rid = who.at("routing_id").as<Bytes>().data;
  EXPECT_EQ(rid.size(), 5u) << hex_encode(rid);
  EXPECT_EQ(rid.substr(0, 1), std::string(1, '\0')) << hex_encode(rid);
}

TEST_F(PythonServer, ServerCallsTheClientBack) {
  start();
  EXPECT_EQ(callback_event("client.double", 21), R"({"event": "callback", "func": "client.double", "result": 42})");
  EXPECT_EQ(callback_event("string.upper", std::string("pseud")),
            R"({"event": "callback", "func": "string.upper", "result": "PSEUD"})");
  EXPECT_EQ(callback_event("client.scale", 5, kw("factor", 10)),
            R"({"event": "callback", "func": "client.scale", "result": 50})");
  EXPECT_EQ(callback_event("client.scale", 5), R"({"event": "callback", "func": "client.scale", "result": 10})");
  EXPECT_EQ(callback_event("client.fail", std::string("bad")),
            R"({"event": "callback", "error": )"
            R"({"message": "bad", "name": "ValueError", "remote_class": "ValueError"}, "func": "client.fail"})");
  EXPECT_EQ(callback_event("client.custom", std::string("odd")),
            R"({"event": "callback", "error": )"
            R"({"message": "odd", "name": "Exception", "remote_class": "CustomError"}, "func": "client.custom"})");
  EXPECT_EQ(callback_event("client.nothing"),
            R"({"event": "callback", "error": {"message": "client.nothing", "name": "ServiceNotFoundError", )"
            R"("remote_class": "ServiceNotFoundError"}, "func": "client.nothing"})");
  const std::string wrong = callback_event("client.double", 1, 2);
  EXPECT_TRUE(starts_with(wrong, R"({"event": "callback", "error": {"message": "client.double() takes )"))
      << wrong;
  EXPECT_NE(wrong.find(R"("name": "TypeError", "remote_class": "TypeError")"), std::string::npos) << wrong;

  // The server kept the outcomes: check the first ones through an ordinary call.
  const msgpack::object_handle reply = client_->call("callback_results");
  const auto results = reply.get().as<std::vector<std::map<std::string, msgpack::object>>>();
  ASSERT_EQ(results.size(), 8u);
  EXPECT_EQ(results[0].at("func").as<std::string>(), "client.double");
  EXPECT_EQ(results[0].at("result").as<int>(), 42);
  EXPECT_EQ(results[2].at("result").as<int>(), 50);
  const auto error = results[4].at("error").as<std::map<std::string, std::string>>();
  EXPECT_EQ(error.at("name"), "ValueError");
  EXPECT_EQ(error.at("message"), "bad");
}

// A notification is a WORK like any other to a Python pseud peer: it runs
// the function and answers OK, which pseud++ expects and discards.
TEST_F(PythonServer, ANotificationIsHandledAsACall) {
  start();
  ASSERT_TRUE(client_->notify("call_me_back", std::string("client.double"), 21));
  EXPECT_EQ(py_->wait_event("callback").value_or("<no callback event>"),
            R"({"event": "callback", "func": "client.double", "result": 42})");
  ASSERT_TRUE(client_->notify("no_such_function"));
  ASSERT_TRUE(client_->wait_notifications_delivered(reply_bound));
  const PeerStats stats = client_->stats();
  EXPECT_EQ(stats.notifications_sent, 2u);
  EXPECT_EQ(stats.notifications_failed, 1u);  // the Python ServiceNotFoundError
  EXPECT_EQ(stats.dropped_replies, 0u);
  EXPECT_EQ(client_->call<int>("add", 1, 2), 3);  // the Python peer goes on as before
}

// PROTOCOL-NOTES §9/§10 and protocol/README.md §8: a reply that reaches a
// Python caller after its timeout (5 s by default) kills its reader, and
// pseud++ promises never to send one. Here the Python server calls a slow C++
// handler back with pseud's default 5 s timeout; the handler finishes after it.
TEST_F(PythonServer, NoLateReplyAfterThePythonCallersTimeout) {
  // A Python caller gives up after its timeout (5 s) and dies on a late reply:
  // a peer serving Python callers sets reply_deadline to their timeout.
  PeerOptions options;
  options.reply_deadline = 5s;
  start({}, options);
  struct Release {  // releases the handler however the test ends
    std::promise<void> promise;
    bool done = false;
    void operator()() {
      if (!std::exchange(done, true)) promise.set_value();
    }
    ~Release() { (*this)(); }
  } release;
  std::shared_future<void> released = release.promise.get_future().share();
  client_->register_rpc("client.slow", [released] {
    // The handler starts a little after pseud++ received the call, so this
    // is at least reply_deadline after that: the premise of the test. (The
    // Python caller's own timeout alone ended a few ms short of it once in
    // 12 runs, and the reply then went out.)
    const auto past_the_deadline = std::chrono::steady_clock::now() + 5s + 20ms;
    released.wait_for(20s);  // bounded: the test releases it once Python has given up
    std::this_thread::sleep_until(past_the_deadline);
    return 1;
  }, {.blocking = true});
  const std::uint64_t handled_before = client_->stats().requests_handled;
  client_->call<void>("call_me_back", std::string("client.slow"));
  const auto event = py_->wait_event("callback", 15s);
  ASSERT_TRUE(event);
  EXPECT_TRUE(starts_with(*event, R"({"event": "callback", "error": {"message": "no reply to client.slow)")) << *event;
  release();
  // Wait until the handler's reply was sent (or, if pseud++ drops it, a while),
  // then one more round trip so the Python server has read whatever came first.
  EXPECT_TRUE(eventually([&] { return client_->stats().expired_replies == 1; }, 2000ms));
  EXPECT_EQ(client_->stats().requests_handled, handled_before);
  EXPECT_EQ(client_->call<int>("add", 1, 2), 3);
  py_->finish();  // fails if the Python server reported the late OK as an anomaly
}

TEST_F(PythonServer, PlainAuthBothWays) {
  start({"--auth", "plain", "--user=alice=s3cret!"},
        with_auth("plain", {{"login", "alice"}, {"password", "s3cret!"}, {"encrypted_link", "true"}}));
  const msgpack::object_handle reply = client_->call("whoami");  // owns what `who` points into
  const auto who = reply.get().as<std::map<std::string, msgpack::object>>();
  EXPECT_EQ(who.at("user_id").as<std::string>(), "alice");
  EXPECT_EQ(callback_event("client.double", 4), R"({"event": "callback", "func": "client.double", "result": 8})");
  EXPECT_TRUE(py_->wait_event("zap", 1000ms).value_or("").find(R"("status": "200", "user": "alice")") !=
              std::string::npos);
}

TEST_F(PythonServer, PlainAuthWrongPasswordIsAHandshakeError) {
  start({"--auth", "plain", "--user=alice=s3cret!"},
        with_auth("plain", {{"login", "alice"}, {"password", "wrong"}, {"encrypted_link", "true"}}));
  const auto begin = Clock::now();
  EXPECT_THROW(client_->call<int>("add", 1, 2, CallOptions{.timeout = 3s}), HandshakeError);
  EXPECT_LT(Clock::now() - begin, 2s);
  EXPECT_TRUE(py_->wait_event("zap", 1000ms).value_or("").find(R"("status": "400")") != std::string::npos);
}

TEST_F(PythonServer, TrustedCurveBothWays) {
  const CurveKeyPair server_keys = generate_curve_keypair();
  const CurveKeyPair alice = generate_curve_keypair();
  start({"--auth", "trusted_curve", "--secret-key=" + server_keys.secret_key, "--trust=alice=" + alice.public_key},
        with_auth("trusted_curve", {{"server_public_key", server_keys.public_key},
                                    {"public_key", alice.public_key},
                                    {"secret_key", alice.secret_key}}));
  const msgpack::object_handle reply = client_->call("whoami");  // owns what `who` points into
  const auto who = reply.get().as<std::map<std::string, msgpack::object>>();
  EXPECT_EQ(who.at("user_id").as<std::string>(), "alice");
  EXPECT_EQ(client_->call<GreetReply>("greet", std::string("alice")).text, "Hello, alice!");
  EXPECT_EQ(callback_event("string.upper", std::string("curve")),
            R"({"event": "callback", "func": "string.upper", "result": "CURVE"})");
}

// protocol/README.md §8: pseud++ never sends a map with non-str keys (pseud
// 2.0.0dev's reader dies on one). An int-keyed argument must fail here, not
// reach the Python server.
TEST_F(PythonServer, NonStrMapKeysAreNeverSent) {
  start();
  EXPECT_THROW(client_->call("echo", std::map<int, int>{{1, 2}}), Error);
  EXPECT_THROW(client_->call("echo_args", kw("m", std::map<std::int64_t, std::string>{{7, "seven"}})), Error);
  EXPECT_EQ(client_->call<int>("add", 1, 2), 3);
}

// Issue 9, row 11 (protocol/README.md §8): a str that is not UTF-8 and an ext
// of Python pseud's pickled codes 123..126 stop a Python peer's reader for
// good. The C++ client refuses them before anything is sent; the Python server
// never sees them and answers the next call.
TEST_F(PythonServer, ValuesPythonCannotDecodeAreRefusedBeforeSending) {
  start();
  const std::uint64_t sent_before = client_->stats().calls_sent;
  EXPECT_TRUE(mentions(usage_error_of([&] { client_->call("echo", binary_text); }),
                       {"call to 'echo': nothing was sent",
                        "positional argument 1 holds a str that is not valid UTF-8", "byte 0xff at index 0",
                        "pseud::Bytes", "PeerOptions::strict_utf8"}));
  EXPECT_TRUE(mentions(usage_error_of([&] { client_->call("echo_args", 1, kw("blob", binary_text)); }),
                       {"keyword argument 'blob' holds a str that is not valid UTF-8"}));
  for (std::int8_t code = 123; code <= 126; ++code) {
    EXPECT_TRUE(mentions(usage_error_of([&] { client_->call("echo", msgpack::type::ext(code, "not a pickle", 12)); }),
                         {"positional argument 1 holds ext type " + std::to_string(code), "unpickles",
                          "PeerOptions::allow_python_ext"}));
  }
  EXPECT_EQ(client_->stats().calls_sent, sent_before);
  // The same bytes as bytes travel; ext codes Python does not reserve travel.
  EXPECT_EQ(client_->call<Bytes>("echo", Bytes(binary_text)), Bytes(binary_text));
  EXPECT_EQ(packed(client_->call("echo", msgpack::type::ext(42, "xy", 2)).get()), hex_decode("d52a7879"));
  timed_figure("python-values: the Python server's next call after 6 refused sends", [&] {
    EXPECT_EQ(client_->call<int>("add", 1, 2), 3);
  });
  std::printf("[figure] python-values: refused sends 6, WORKs sent %llu (3 good calls)\n",
              static_cast<unsigned long long>(client_->stats().calls_sent - sent_before));
}

// The same values in a C++ handler's result, when the Python server calls the
// C++ client back: a TypeError reply goes instead, and the Python peer lives on.
TEST_F(PythonServer, HandlerResultsPythonCannotDecodeBecomeTypeErrors) {
  start();
  client_->register_rpc("client.binary", [] { return binary_text; });
  client_->register_rpc("client.forged_when", [] { return msgpack::type::ext(125, "garbage", 7); });
  client_->register_rpc("client.binary_error", []() -> int { throw std::runtime_error("cannot open \xff\xfe"); });
  EXPECT_EQ(callback_event("client.binary"),
            R"({"event": "callback", "error": {"message": "the result holds a str that is not valid UTF-8 )"
            R"((byte 0xff at index 0): a Python pseud peer's reader stops for good on it; the reply was not sent", )"
            R"("name": "TypeError", "remote_class": "TypeError"}, "func": "client.binary"})");
  const std::string forged = callback_event("client.forged_when");
  EXPECT_TRUE(mentions(forged, {R"("message": "the result holds ext type 125, which a Python pseud peer unpickles)",
                                R"("name": "TypeError")"}));
  // An exception text that is not UTF-8 arrives with U+FFFD in place of its bad bytes.
  EXPECT_TRUE(mentions(callback_event("client.binary_error"), {R"("message": "cannot open \ufffd\ufffd")"}));
  EXPECT_EQ(callback_event("client.double", 21), R"({"event": "callback", "func": "client.double", "result": 42})");
  timed_figure("python-values: the Python server's next call after 3 refused results", [&] {
    EXPECT_EQ(client_->call<int>("add", 1, 2), 3);
  });
}

// A datetime a Python peer sent arrives as an opaque ext 125. pseud++ cannot
// tell it from one built in C++, so sending it back needs the opt-in; with it,
// the value goes back byte for byte and the Python peer unpickles it.
TEST_F(PythonServer, APickledValueReceivedIsSentBackOnlyWithTheOptIn) {
  start({"--unpickle"});
  const msgpack::object_handle when = client_->call("when");
  ASSERT_EQ(when.get().type, msgpack::type::EXT);
  EXPECT_EQ(when.get().via.ext.type(), 125);
  EXPECT_TRUE(mentions(usage_error_of([&] { client_->call("echo", when.get()); }),
                       {"positional argument 1 holds ext type 125", "PeerOptions::allow_python_ext"}));
  PeerOptions options;
  options.allow_python_ext = true;
  Client relay("server", options);
  relay.connect(py_->endpoint());
  EXPECT_EQ(packed(relay.call("echo", when.get()).get()), packed(when.get()));
  EXPECT_EQ(client_->call<int>("add", 1, 2), 3);
}

// A C++ client with the liveness backend sends Python-compatible HEARTBEATs
// (empty id and body), and does not declare the Python server, which never
// sends any, gone.
TEST_F(PythonServer, LivenessHeartbeatsAreAcceptedAndTheServerIsNotEvicted) {
  PeerOptions options;
  options.heartbeat = {"liveness", {{"interval_ms", "100"}, {"liveness", "3"}}};
  auto gone = std::make_shared<std::atomic<int>>(0);  // shared: the client outlives this scope
  options.on_peer_gone = [gone](const PeerInfo&, const std::string&) { ++*gone; };
  start({}, options);
  EXPECT_EQ(client_->call<int>("add", 1, 2), 3);
  EXPECT_TRUE(py_->wait_event("heartbeat"));
  EXPECT_TRUE(py_->wait_event("heartbeat"));  // the 10th: over (L + 1) x H = 400 ms later
  EXPECT_EQ(gone->load(), 0);
  EXPECT_EQ(client_->connected_peers().size(), 1u);
  EXPECT_EQ(client_->call<int>("add", 2, 3), 5);
}

// Typed commands (command.hpp) against a Python function: it receives the
// fields as a dict, and the dict it returns decodes into the command's result.
struct RectangleAreaResult {
  std::int64_t area = 0;
  std::vector<std::string> fields;
  PSEUD_COMMAND("interop.area_result", area, fields);
};

struct RectangleArea {
  using result = RectangleAreaResult;
  std::int64_t width = 0;
  std::int64_t height = 0;
  PSEUD_COMMAND("shapes.rectangle.area", width, height);
};

// The same Python function, read by a C++ side that expects a field it does not send.
struct AreaAndPerimeter {
  std::int64_t area = 0;
  std::int64_t perimeter = 0;
  PSEUD_COMMAND("interop.area_and_perimeter", area, perimeter);
};

struct RectangleMeasures {
  using result = AreaAndPerimeter;
  std::int64_t width = 0;
  std::int64_t height = 0;
  PSEUD_COMMAND("shapes.rectangle.area", width, height);
};

TEST_F(PythonServer, ExecuteACommandAgainstAPythonFunctionThatReceivesADict) {
  start();
  const RectangleAreaResult result = client_->execute(RectangleArea{3, 4});
  EXPECT_EQ(result.area, 12);
  EXPECT_EQ(result.fields, (std::vector<std::string>{"height", "width"}));  // a dict with exactly the fields
  std::future<RectangleAreaResult> later = client_->execute_async(RectangleArea{5, 6});
  EXPECT_EQ(get_within(later).area, 30);
  try {
    client_->execute(RectangleMeasures{1, 1});
    ADD_FAILURE() << "expected a ConversionError";
  } catch (const ConversionError& e) {
    EXPECT_STREQ(e.what(), "the reply does not convert to the requested C++ type: interop.area_and_perimeter: "
                           "missing field 'perimeter'");
  }
  // The tagged form through Python's echo, unchanged (and packed as Python packs it: no noncanonical event).
  using Shape = OneOf<RectangleArea, AreaAndPerimeter>;
  const Shape echoed = client_->call<Shape>("echo", Shape(AreaAndPerimeter{6, 10}));
  ASSERT_TRUE(std::holds_alternative<AreaAndPerimeter>(echoed));
  EXPECT_EQ(std::get<AreaAndPerimeter>(echoed).perimeter, 10);
}

// =================================================================================
// (b) Python client -> C++ Server
// =================================================================================

class PythonClient : public Interop {
 protected:
  // Starts the C++ server (with `options`) and the Python client (with `client_args`).
  void start(const PeerOptions& options = {}, const std::vector<std::string>& client_args = {}) {
    server_ = std::make_unique<Server>("server", options);
    Server& server = *server_;
    server.register_rpc("echo", [](const msgpack::object& x) { return x; }, {.params = {"x"}});
    server.register_rpc("echo_args", [](const Args& args, const Kwargs& kwargs) {
      return pack_to_object([&](auto& p) {
        p.pack_map(2);
        pack_str(p, "args");
        p.pack(args);
        pack_str(p, "kwargs");
        p.pack(kwargs);
      });
    });
    server.register_rpc("add", [](std::int64_t a, std::int64_t b) { return a + b; }, {.params = {"a", "b"}});
    server.register_rpc(
        "greet",
        [](const std::string& name, const std::string& greeting, const std::string& punctuation, const Kwargs& extra) {
          return pack_to_object([&](auto& p) {
            p.pack_map(2);
            pack_str(p, "text");
            pack_str(p, greeting + ", " + name + punctuation);
            pack_str(p, "extra");
            p.pack(extra);
          });
        },
        {.params = {"name", param("greeting", "Hello"), param("punctuation", "!")}});
    server.register_rpc("fail", [](const std::string& message) -> int { throw std::invalid_argument(message); },
                        {.params = {param("message", "boom")}});
    server.register_rpc("fail_custom",
                        [](const std::string& message) -> int { throw RemoteError("CustomError", message); },
                        {.params = {"message"}});
    server.register_rpc("blob", [] { return blob_object(); });
    server.register_rpc("nack_me", [](ReplyChannel channel) { channel.nack(); });
    server.register_rpc("drop_channel", [](ReplyChannel) {});
    // Answered from a worker thread, after the handler's call returned.
    server.register_rpc("deferred_echo", [](ReplyChannel channel, std::string text) { channel.reply(text); },
                        {.blocking = true});
    server.register_rpc("undeclared_error", [](const std::string& message) -> int { throw std::runtime_error(message); },
                        {.params = {"message"}, .raises = {raises<std::invalid_argument>()}});
    server.register_rpc("whoami", [](const Bytes& identity) { return identity; }, {.with_identity = true});
    // The client says hello first, so the test learns the identity to call it back by.
    server.register_rpc("hello", [this](const std::string& identity) {
      if (++hello_calls_ == 1) identity_.set_value(identity);
    },
                        {.with_identity = true});
    // Calls the client back asynchronously while its call is answered at once.
    server.register_rpc("double_me_later", [this](const std::string& identity, std::int64_t x) {
      server_->send_to(identity).async_call<std::int64_t>(
          [this](Result<std::int64_t> result) {
            if (result.ok()) {
              later_.set_value(std::move(result).get());
            } else {
              later_.set_exception(result.error());
            }
          },
          "client.double", x);
    }, {.params = {"x"}, .with_identity = true});
    endpoint_ = server.bind("tcp://127.0.0.1:*");
    std::vector<std::string> args{"client", endpoint_, "--server-name", "server"};
    args.insert(args.end(), client_args.begin(), client_args.end());
    if (!start_python(args)) throw std::runtime_error("the Python peer did not start (see above)");
  }

  // Has the Python client call hello() and returns the identity the server saw.
  std::string learn_identity() {
    EXPECT_EQ(py_->request(req("hello")), R"({"result": null})");
    auto future = identity_.get_future();
    return get_within(future);
  }

  void TearDown() override {
    Interop::TearDown();
    server_.reset();
  }

  std::promise<std::string> identity_;
  std::promise<std::int64_t> later_;
  std::atomic<int> gone_{0};
  std::atomic<int> hello_calls_{0};  // counted before the reply is sent
  std::string endpoint_;
  std::unique_ptr<Server> server_;  // last: destroyed first, before the promises its handlers use
};

TEST_F(PythonClient, PlainCallsRoundTrip) {
  start();
  EXPECT_EQ(py_->request(req("add", "[1, 2]")), R"({"result": 3})");
  EXPECT_EQ(py_->request(req("add", "[-40, 1099511627776]")), R"({"result": 1099511627736})");
  EXPECT_EQ(py_->request(req("echo", R"(["text"])")), R"({"result": "text"})");
  EXPECT_EQ(py_->request(req("echo", R"([{"$bytes": "00ff"}])")), R"({"result": {"$bytes": "00ff"}})");
  EXPECT_EQ(py_->request(req("echo", "[1.5]")), R"({"result": 1.5})");
  EXPECT_EQ(py_->request(req("echo", "[[1, [2, []], {}]]")), R"({"result": [1, [2, []], {}]})");
  EXPECT_EQ(py_->request(req("echo", "[null]")), R"({"result": null})");
  EXPECT_EQ(py_->request(req("echo", "[true]")), R"({"result": true})");
  EXPECT_EQ(py_->request(req("echo_args", R"([1, "a"])", R"({"k": null, "n": 2.5})")),
            R"({"result": {"args": [1, "a"], "kwargs": {"k": null, "n": 2.5}}})");
  EXPECT_EQ(py_->request(req("echo_args")), R"({"result": {"args": [], "kwargs": {}}})");
}

TEST_F(PythonClient, KeywordArgumentsDefaultsAndExtra) {
  start();
  EXPECT_EQ(py_->request(req("greet", R"(["bob"])")), R"({"result": {"extra": {}, "text": "Hello, bob!"}})");
  EXPECT_EQ(py_->request(req("greet", R"(["bob"])", R"({"greeting": "Hi", "mood": "calm"})")),
            R"({"result": {"extra": {"mood": "calm"}, "text": "Hi, bob!"}})");
  EXPECT_EQ(py_->request(req("greet", "[]", R"({"punctuation": "?", "name": "eve", "x": 1, "y": [2]})")),
            R"({"result": {"extra": {"x": 1, "y": [2]}, "text": "Hello, eve?"}})");
  EXPECT_EQ(py_->request(req("greet", R"(["bob", "Yo", "."])")), R"({"result": {"extra": {}, "text": "Yo, bob."}})");
  EXPECT_EQ(py_->request(req("add", "[]", R"({"b": 2, "a": 40})")), R"({"result": 42})");
  EXPECT_EQ(py_->request(req("echo", "[]", R"({"x": "h\u00e9llo"})")), R"({"result": "h\u00e9llo"})");
}

TEST_F(PythonClient, BytesUnicodeNestedMapsAndU64Max) {
  start();
  // The same line the Python server's own blob() gives a Python client.
  EXPECT_EQ(py_->request(req("blob")), R"({"result": )" + blob_json + "}");
  EXPECT_EQ(py_->request(req("echo", "[18446744073709551615]")), R"({"result": 18446744073709551615})");
  EXPECT_EQ(py_->request(req("echo", "[-9223372036854775808]")), R"({"result": -9223372036854775808})");
  EXPECT_EQ(py_->request(req("echo", R"([{"$bytes": ""}])")), R"({"result": {"$bytes": ""}})");
  EXPECT_EQ(py_->request(req("echo", R"(["\u2603 \ud83d\ude00"])")), R"({"result": "\u2603 \ud83d\ude00"})");
  EXPECT_EQ(py_->request(req("echo", R"([{"a": {"b": [1, {"c": {"$bytes": "ff"}}]}}])")),
            R"({"result": {"a": {"b": [1, {"c": {"$bytes": "ff"}}]}}})");
}

TEST_F(PythonClient, ErrorsArriveWithPythonClassNames) {
  start();
  EXPECT_EQ(py_->request(req("fail")), error_line("ValueError", "ValueError", "boom"));
  EXPECT_EQ(py_->request(req("fail", "[]", R"({"message": "h\u00e9"})")), error_line("ValueError", "ValueError", "h\\u00e9"));
  EXPECT_EQ(py_->request(req("fail_custom", R"(["custom trouble"])")),
            error_line("Exception", "CustomError", "custom trouble"));
  EXPECT_EQ(py_->request(req("no.such.function", "[1]")),
            error_line("ServiceNotFoundError", "ServiceNotFoundError", "no.such.function"));
  // Python's own wording for these is in the PythonServer test; pseud++ documents its own (README).
  EXPECT_EQ(py_->request(req("add", "[1, 2, 3]")),
            error_line("TypeError", "TypeError", "add() takes 2 positional arguments but 3 were given"));
  EXPECT_EQ(py_->request(req("add", "[1]")),
            error_line("TypeError", "TypeError", "add() missing 1 required argument: 'b'"));
  EXPECT_EQ(py_->request(req("add", "[1, 2]", R"({"c": 3})")),
            error_line("TypeError", "TypeError", "add() got an unexpected keyword argument 'c'"));
  EXPECT_EQ(py_->request(req("add", R"([1, "x"])")), error_line("TypeError", "TypeError", "add() argument 'b' must be int"));
  EXPECT_EQ(py_->request(req("add", "[1, 2]")), R"({"result": 3})");
}

TEST_F(PythonClient, ReplyChannelsAndUndeclaredErrorsArriveAsNack) {
  start();
  EXPECT_EQ(py_->request(req("nack_me")), error_line("Exception", "Nack", ""));
  EXPECT_EQ(py_->request(req("drop_channel")), error_line("Exception", "Nack", ""));
  EXPECT_EQ(py_->request(req("undeclared_error", R"(["the secret"])")), error_line("Exception", "Nack", ""));
  EXPECT_EQ(py_->request(req("deferred_echo", R"(["later"])")), R"({"result": "later"})");
}

TEST_F(PythonClient, InspectIsAListOfDictsWithNameDocAndParameters) {
  start();
  const std::string reply = py_->request(req("pseud.inspect"));
  EXPECT_TRUE(starts_with(reply, R"({"result": [{"args": )")) << reply;
  EXPECT_NE(reply.find(R"({"args": false, "doc": "", "kwargs": true, "name": "greet", "params": [)"
                       R"({"name": "name", "type": "str"}, {"default": "Hello", "name": "greeting", "type": "str"}, )"
                       R"({"default": "!", "name": "punctuation", "type": "str"}]})"),
            std::string::npos)
      << reply;
  EXPECT_NE(reply.find(R"({"args": true, "doc": "", "kwargs": true, "name": "echo_args", "params": []})"),
            std::string::npos)
      << reply;
}

TEST_F(PythonClient, WhoamiIsTheAnonymousRoutingId) {
  start();
  const std::string reply = py_->request(req("whoami"));
  EXPECT_TRUE(starts_with(reply, R"({"result": {"$bytes": "00)")) << reply;
  EXPECT_EQ(reply.size(), std::string(R"({"result": {"$bytes": "0011223344"}})").size()) << reply;
}

TEST_F(PythonClient, ServerCallsTheClientThroughItsIdentity) {
  start();
  const std::string identity = learn_identity();
  ASSERT_EQ(identity.size(), 5u);
  Target client = server_->send_to(identity);
  EXPECT_EQ(client.call<std::int64_t>("client.double", 21), 42);
  EXPECT_EQ(client.call<std::string>("client.double", std::string("ab")), "abab");
  EXPECT_EQ(client.call<Bytes>("client.double", Bytes(std::string("\x00\x01", 2))), Bytes(std::string("\x00\x01\x00\x01", 4)));
  EXPECT_EQ(client.call<std::string>("string.upper", std::string("pseud")), "PSEUD");
  EXPECT_EQ(client.call<std::string>("string.upper", unicode_text), "H\xc3\x89LLO W\xc3\x96RLD \xe2\x98\x83 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(client.call<std::string>("string.upper", kw("s", "kw")), "KW");
  try {
    client.call<void>("client.fail", std::string("bad"));
    ADD_FAILURE() << "expected RemoteError";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.name(), "ValueError");
    EXPECT_EQ(e.message(), "bad");
    EXPECT_NE(e.traceback().find("Traceback (most recent call last)"), std::string::npos);
  }
  EXPECT_THROW(client.call<void>("client.nothing"), ServiceNotFoundError);
  try {
    client.call<void>("client.double", 1, 2);
    ADD_FAILURE() << "expected TypeError";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.name(), "TypeError");
    EXPECT_EQ(e.message(), "double() takes 1 positional argument but 2 were given");
  }
  EXPECT_EQ(py_->request(req("add", "[2, 3]")), R"({"result": 5})");  // and the client still calls in
}

TEST_F(PythonClient, HandlerCallsTheClientBackWhileItsCallIsAnswered) {
  start();
  EXPECT_EQ(py_->request(req("double_me_later", "[50]")), R"({"result": null})");
  auto future = later_.get_future();
  EXPECT_EQ(get_within(future), 100);
}

TEST_F(PythonClient, PlainAuthBothWays) {
  start(with_auth("plain", {{"user", "alice=s3cret!"}, cheap_hash, {"encrypted_link", "true"}}),
        {"--auth", "plain", "--login=alice", "--password=s3cret!"});
  EXPECT_EQ(py_->request(req("whoami")), R"({"result": {"$bytes": ")" + hex_encode("alice") + R"("}})");
  EXPECT_EQ(learn_identity(), "alice");
  EXPECT_EQ(server_->send_to("alice").call<std::int64_t>("client.double", 8), 16);
}

TEST_F(PythonClient, PlainAuthWrongPasswordNeverReachesAHandler) {
  start(with_auth("plain", {{"user", "alice=s3cret!"}, cheap_hash, {"encrypted_link", "true"}}),
        {"--auth", "plain", "--login=alice", "--password=wrong"});
  EXPECT_EQ(py_->request(req("hello", "[]", "{}", 1)),
            error_line("TimeoutError", "", "no reply to hello within its timeout"));
  EXPECT_EQ(hello_calls_.load(), 0);
}

TEST_F(PythonClient, TrustedCurveBothWays) {
  const CurveKeyPair server_keys = generate_curve_keypair();
  const CurveKeyPair alice = generate_curve_keypair();
  start(with_auth("trusted_curve", {{"secret_key", server_keys.secret_key}, {"trust", "alice=" + alice.public_key}}),
        {"--auth", "trusted_curve", "--server-key=" + server_keys.public_key, "--public-key=" + alice.public_key,
         "--secret-key=" + alice.secret_key});
  EXPECT_EQ(py_->request(req("greet", R"(["alice"])")), R"({"result": {"extra": {}, "text": "Hello, alice!"}})");
  EXPECT_EQ(learn_identity(), "alice");
  EXPECT_EQ(server_->send_to("alice").call<std::string>("string.upper", std::string("curve")), "CURVE");
}

TEST_F(PythonClient, UntrustedCurveInBandLogin) {
  const CurveKeyPair server_keys = generate_curve_keypair();
  start(with_auth("untrusted_curve", {{"secret_key", server_keys.secret_key}, {"user", "john=s3cret!"}, cheap_hash}),
        {"--auth", "untrusted_curve", "--server-key=" + server_keys.public_key, "--login=john",
         "--password=s3cret!"});
  // WORK -> UNAUTHORIZED -> HELLO -> AUTHENTICATED -> the same WORK again -> OK.
  EXPECT_EQ(learn_identity(), "john");
  EXPECT_EQ(py_->wait_event("authenticated", 1000ms).value_or(""),
            R"({"event": "authenticated", "text": "Welcome b'john'"})");
  EXPECT_EQ(hello_calls_.load(), 1);  // the re-sent WORK ran once
  EXPECT_EQ(py_->request(req("add", "[1, 2]")), R"({"result": 3})");
  EXPECT_EQ(server_->send_to("john").call<std::int64_t>("client.double", 5), 10);
}

TEST_F(PythonClient, UntrustedCurveWrongPasswordGivesUpAfterTheThirdRefusal) {
  const CurveKeyPair server_keys = generate_curve_keypair();
  start(with_auth("untrusted_curve", {{"secret_key", server_keys.secret_key}, {"user", "john=s3cret!"}, cheap_hash}),
        {"--auth", "untrusted_curve", "--server-key=" + server_keys.public_key, "--login=john",
         "--password=wrong"});
  EXPECT_EQ(py_->request(req("hello")),
            error_line("UnauthorizedError", "UnauthorizedError", "Max authentication retries reached"));
  EXPECT_EQ(hello_calls_.load(), 0);
}

// protocol/README.md §8: pseud++ never sends a map with non-str keys. A
// handler returning one must not put it on the wire to a Python caller.
TEST_F(PythonClient, NonStrMapKeysAreNeverSent) {
  start();
  server_->register_rpc("int_keys", [] { return std::map<int, std::string>{{1, "one"}}; });
  const std::string reply = py_->request(req("int_keys"));
  EXPECT_TRUE(starts_with(reply, R"({"error": )")) << reply;
  EXPECT_EQ(py_->request(req("add", "[1, 2]")), R"({"result": 3})");
}

// Issue 9, row 11: a C++ handler returning binary data in a std::string (or
// an ext 125 built in C++) would kill a Python client's reader. It gets a
// TypeError reply instead, and its next call succeeds.
TEST_F(PythonClient, HandlerResultsPythonCannotDecodeBecomeTypeErrors) {
  start();
  server_->register_rpc("binary", [] { return binary_text; });
  server_->register_rpc("binary_in_a_map", [] { return std::map<std::string, std::string>{{"data", binary_text}}; });
  server_->register_rpc("forged_when", [] { return msgpack::type::ext(125, "garbage", 7); });
  server_->register_rpc("binary_error", []() -> int { throw std::runtime_error("cannot open \xff\xfe"); });
  EXPECT_EQ(py_->request(req("binary")),
            error_line("TypeError", "TypeError",
                       "the result holds a str that is not valid UTF-8 (byte 0xff at index 0): a Python pseud "
                       "peer's reader stops for good on it; the reply was not sent"));
  EXPECT_TRUE(mentions(py_->request(req("binary_in_a_map")), {"not valid UTF-8", R"("name": "TypeError")"}));
  EXPECT_TRUE(mentions(py_->request(req("forged_when")),
                       {"the result holds ext type 125, which a Python pseud peer unpickles",
                        R"("name": "TypeError")"}));
  EXPECT_TRUE(mentions(py_->request(req("binary_error")),
                       {R"("message": "cannot open \ufffd\ufffd")", R"("name": "RuntimeError")"}));
  timed_figure("python-values: the Python client's next call after 4 refused results", [&] {
    EXPECT_EQ(py_->request(req("add", "[1, 2]")), R"({"result": 3})");
  });
}

// The server calling the Python client: the same values are refused before
// anything is sent, and the client still answers.
TEST_F(PythonClient, CallsToThePythonClientWithValuesItCannotDecodeAreRefused) {
  start();
  Target client = server_->send_to(learn_identity());
  EXPECT_TRUE(mentions(usage_error_of([&] { client.call("client.echo", binary_text); }),
                       {"call to 'client.echo': nothing was sent", "not valid UTF-8"}));
  EXPECT_TRUE(mentions(usage_error_of([&] { client.call("client.echo", msgpack::type::ext(124, "", 0)); }),
                       {"ext type 124", "timedelta"}));
  timed_figure("python-values: the Python client's next call from the server after 2 refused sends", [&] {
    EXPECT_EQ(client.call<std::int64_t>("client.double", 21), 42);
  });
  EXPECT_EQ(py_->request(req("add", "[1, 2]")), R"({"result": 3})");
}

// A datetime from a Python client (ext 125, its pickle) is echoed back by a
// C++ handler only with PeerOptions::allow_python_ext.
TEST_F(PythonClient, ADatetimeFromPythonIsEchoedOnlyWithTheOptIn) {
  start({}, {"--unpickle"});
  const std::string when = R"([{"$datetime": "2026-01-02T03:04:05"}])";
  EXPECT_TRUE(
      mentions(py_->request(req("echo", when)), {"the result holds ext type 125", R"("name": "TypeError")"}));
  EXPECT_EQ(py_->request(req("add", "[1, 2]")), R"({"result": 3})");
}

TEST_F(PythonClient, ADatetimeFromPythonIsEchoedWithTheOptIn) {
  PeerOptions options;
  options.allow_python_ext = true;
  start(options, {"--unpickle"});
  EXPECT_EQ(py_->request(req("echo", R"([{"$datetime": "2026-01-02T03:04:05"}])")),
            R"({"result": {"$datetime": "2026-01-02T03:04:05"}})");
}

// A C++ server with the liveness backend pings the Python client (which
// never sends heartbeats of its own) and keeps it.
TEST_F(PythonClient, LivenessHeartbeatsAreAcceptedAndTheClientIsNotEvicted) {
  PeerOptions options;
  options.heartbeat = {"liveness", {{"interval_ms", "100"}, {"liveness", "3"}}};
  options.on_peer_gone = [this](const PeerInfo&, const std::string&) { ++gone_; };
  start(options);
  const std::string identity = learn_identity();
  EXPECT_TRUE(py_->wait_event("heartbeat"));
  EXPECT_TRUE(py_->wait_event("heartbeat"));  // the 10th: over (L + 1) x H = 400 ms later
  EXPECT_EQ(gone_.load(), 0);
  EXPECT_EQ(server_->connected_peers().size(), 1u);
  EXPECT_EQ(server_->send_to(identity).call<std::int64_t>("client.double", 3), 6);
  EXPECT_EQ(py_->request(req("add", "[1, 2]")), R"({"result": 3})");
}

// A Python caller sends a dict to a C++ typed command's function; field
// errors come back as TypeErrors naming the field.
struct InteropAdd {
  using result = std::int64_t;
  std::int64_t a = 0;
  std::int64_t b = 0;
  PSEUD_COMMAND("interop.calc.add", a, b);
};

struct InteropMul {
  using result = std::int64_t;
  std::int64_t a = 0;
  std::int64_t b = 0;
  PSEUD_COMMAND("interop.calc.mul", a, b);
};

struct InteropPoint {
  double x = 0;
  double y = 0;
  PSEUD_COMMAND("interop.point", x, y);
};

struct InteropMidpoint {
  using result = InteropPoint;
  InteropPoint from;
  InteropPoint to;
  PSEUD_COMMAND("interop.midpoint", from, to);
};

TEST_F(PythonClient, APythonCallerSendsADictToACommandFunction) {
  start();
  server_->register_command<InteropAdd>([](const InteropAdd& add) { return add.a + add.b; });
  server_->register_command<InteropMidpoint>([](const InteropMidpoint& m) {
    return InteropPoint{(m.from.x + m.to.x) / 2, (m.from.y + m.to.y) / 2};
  });
  server_->register_rpc("interop.calculate", [](const OneOf<InteropAdd, InteropMul>& calculation) {
    return std::visit(
        [](const auto& c) { return std::is_same_v<std::remove_cvref_t<decltype(c)>, InteropAdd> ? c.a + c.b : c.a * c.b; },
        calculation);
  }, {.params = {"calculation"}});
  EXPECT_EQ(py_->request(req("interop.calc.add", R"([{"a": 1, "b": 2}])")), R"({"result": 3})");
  EXPECT_EQ(py_->request(req("interop.calc.add", "[]", R"({"command": {"a": 40, "b": 2, "note": "ignored"}})")),
            R"({"result": 42})");
  EXPECT_EQ(py_->request(req("interop.midpoint", R"([{"from": {"x": 0, "y": 0}, "to": {"x": 1, "y": 3}}])")),
            R"({"result": {"x": 0.5, "y": 1.5}})");
  EXPECT_EQ(py_->request(req("interop.calc.add", R"([{"a": 1}])")),
            error_line("TypeError", "TypeError",
                       "interop.calc.add() argument 'command': interop.calc.add: missing field 'b'"));
  EXPECT_EQ(py_->request(req("interop.calc.add", R"([{"a": 1, "b": "2"}])")),
            error_line("TypeError", "TypeError",
                       "interop.calc.add() argument 'command': interop.calc.add: field 'b' must be int, got str"));
  EXPECT_EQ(py_->request(req("interop.calculate", R"([{"__type__": "interop.calc.mul", "a": 6, "b": 7}])")),
            R"({"result": 42})");
  EXPECT_EQ(py_->request(req("interop.calculate", R"([{"__type__": "interop.calc.pow", "a": 6}])")),
            error_line("TypeError", "TypeError",
                       "interop.calculate() argument 'calculation': OneOf<interop.calc.add, interop.calc.mul>: "
                       "unknown command type 'interop.calc.pow' in field '__type__'"));
  EXPECT_EQ(py_->request(req("add", "[1, 2]")), R"({"result": 3})");
}

// =================================================================================
// The harness itself: the Python peer does report what it must never be sent.
// =================================================================================

TEST_F(Interop, PythonPeerReportsAnomalies) {
  ASSERT_TRUE(start_python({"server", "tcp://127.0.0.1:*"}));
  py_->expect_reports(4, 1);
  const std::string id16 = "0123456789abcdef";  // uuid4-sized, as pseud sends
  zmq::context_t context;
  RawSocket raw(context, zmq::socket_type::router);
  raw.socket().set(zmq::sockopt::probe_router, 1);
  raw.socket().set(zmq::sockopt::router_mandatory, 1);
  raw.socket().connect(py_->endpoint());
  // A good WORK first: its reply proves the connection is up.
  const std::string add_1_2 = hex_decode("93a3616464920102" "80");
  bool sent = false;
  ASSERT_TRUE(eventually([&] {
    try {
      raw.send({"server", "", "v1", id16, std::string(1, '\x03'), add_1_2});
      sent = true;
    } catch (const zmq::error_t&) {
    }
    return sent;
  }));
  const auto reply = raw.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)[4], std::string(1, '\x01'));
  raw.send({"server", "", "v1", id16, std::string(1, '\x03')});                         // 5 frames
  raw.send({"server", "", "v1", id16, std::string(1, '\x01'), hex_decode("03")});       // unsolicited OK
  raw.send({"server", "", "v1", id16, std::string(1, '\x03'), hex_decode("93a46563686f9181010280")});  // int key
  raw.send({"server", "", "v1", id16, std::string(1, '\x03'), hex_decode("93a46563686f91d47d7880")});  // ext 125
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(py_->wait_event("anomaly"));
  for (int i = 0; i < 2; ++i) {  // the two malformed WORKs still get an ERROR each
    const auto error = raw.receive();
    ASSERT_TRUE(error);
    EXPECT_EQ((*error)[4], std::string(1, '\x10'));
  }
  // And a body Python would pack differently: 1 as a uint32 (ce 00000001).
  raw.send({"server", "", "v1", id16, std::string(1, '\x03'), hex_decode("93a46563686f91ce0000000180")});
  const auto echoed = raw.receive();
  ASSERT_TRUE(echoed);
  EXPECT_EQ((*echoed)[3], id16);
  EXPECT_EQ((*echoed)[5], hex_decode("01"));
  EXPECT_TRUE(py_->wait_event("noncanonical"));
}

}  // namespace
}  // namespace pseud::test
