#include "cli/demo_functions.hpp"

#include <atomic>
#include <cctype>
#include <cstdint>
#include <limits>
#include <map>
#include <thread>

#include "cli/json.hpp"
#include "cli/output.hpp"
#include "pseud/predicates.hpp"

namespace pseud::cli {

namespace {

// A two-entry map {first_key: first, second_key: second}.
template <class A, class B>
msgpack::object_handle pair_map(std::string_view first_key, const A& first, std::string_view second_key,
                                const B& second) {
  pseud::detail::WireBuffer out;
  msgpack::packer<pseud::detail::WireBuffer> packer(out);
  packer.pack_map(2);
  packer.pack(first_key);
  packer.pack(first);
  packer.pack(second_key);
  packer.pack(second);
  return msgpack::unpack(out.data(), out.size());
}

struct Nested {
  std::map<std::string, std::int64_t> numbers{{"one", 1}, {"minus", -1}};
  std::map<std::string, std::string> empty_map{};
  MSGPACK_DEFINE_MAP(numbers, empty_map)
};

struct Blob {
  Bytes bytes{std::string("\x00\x01\xfe\xff", 4)};
  std::string unicode = "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x90\x8d";
  Nested nested{};
  std::uint64_t max_u64 = std::numeric_limits<std::uint64_t>::max();
  std::vector<int> empty_list{};
  std::string empty_text{};
  MSGPACK_DEFINE_MAP(bytes, unicode, nested, max_u64, empty_list, empty_text)
};

bool is_number(const msgpack::object& o) {
  return o.type == msgpack::type::POSITIVE_INTEGER || o.type == msgpack::type::NEGATIVE_INTEGER ||
         o.type == msgpack::type::FLOAT64 || o.type == msgpack::type::FLOAT32;
}

bool is_integer(const msgpack::object& o) {
  return o.type == msgpack::type::POSITIVE_INTEGER || o.type == msgpack::type::NEGATIVE_INTEGER;
}

// Python's a + b for the types JSON can carry: numbers, strings, arrays.
msgpack::object_handle add(const msgpack::object& a, const msgpack::object& b) {
  pseud::detail::WireBuffer out;
  msgpack::packer<pseud::detail::WireBuffer> packer(out);
  if (is_integer(a) && is_integer(b)) {
    std::int64_t sum = 0;
    if (a.type == msgpack::type::POSITIVE_INTEGER && b.type == msgpack::type::POSITIVE_INTEGER) {
      std::uint64_t total = 0;
      if (__builtin_add_overflow(a.via.u64, b.via.u64, &total)) throw std::overflow_error("add: integer overflow");
      packer.pack(total);
    } else {
      if (__builtin_add_overflow(a.as<std::int64_t>(), b.as<std::int64_t>(), &sum)) {
        throw std::overflow_error("add: integer overflow");
      }
      packer.pack(sum);
    }
  } else if (is_number(a) && is_number(b)) {
    packer.pack(a.as<double>() + b.as<double>());
  } else if (a.type == msgpack::type::STR && b.type == msgpack::type::STR) {
    packer.pack(a.as<std::string>() + b.as<std::string>());
  } else if (a.type == msgpack::type::ARRAY && b.type == msgpack::type::ARRAY) {
    packer.pack_array(a.via.array.size + b.via.array.size);
    for (const auto* part : {&a, &b}) {
      for (std::uint32_t i = 0; i < part->via.array.size; ++i) packer.pack(part->via.array.ptr[i]);
    }
  } else {
    throw RemoteError("TypeError", "unsupported operand types for +");
  }
  return msgpack::unpack(out.data(), out.size());
}

std::string change_case(std::string text, int (*convert)(int)) {
  for (char& c : text) c = static_cast<char>(convert(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

void register_demo_functions(Peer& peer) {
  peer.register_rpc("echo", [](const msgpack::object& x) { return x; }, {.params = {"x"}, .doc = "Returns x."});
  peer.register_rpc("echo_args", [](const Args& args, const Kwargs& kwargs) { return pair_map("args", args, "kwargs", kwargs); },
                    {.doc = "Returns {args, kwargs} as received."});
  peer.register_rpc("add", add, {.params = {"a", "b"}, .doc = "Returns a + b."});
  peer.register_rpc(
      "greet",
      [](const std::string& name, const std::string& greeting, const std::string& punctuation, const Kwargs& extra) {
        return pair_map("text", greeting + ", " + name + punctuation, "extra", extra);
      },
      {.params = {"name", param("greeting", "Hello"), param("punctuation", "!")},
       .doc = "Greets name; extra keyword arguments come back in extra."});
  peer.register_rpc("fail", [](const std::string& message) -> void { throw std::invalid_argument(message); },
                    {.params = {param("message", "boom")}, .doc = "Raises ValueError(message)."});
  peer.register_rpc("fail_custom", [](const std::string& message) -> void { throw RemoteError("CustomError", message); },
                    {.params = {"message"}, .doc = "Raises CustomError(message)."});
  peer.register_rpc(
      "sleep",
      [](double seconds) {
        if (seconds > 3600) throw std::invalid_argument("sleep: at most 3600 seconds");
        std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
        return seconds;
      },
      {.params = {"seconds"}, .blocking = true, .doc = "Sleeps on the worker pool; returns seconds."});
  peer.register_rpc("blob", [] { return Blob{}; }, {.doc = "Returns bytes, unicode, nested maps, 2**64-1, empties."});
  peer.register_rpc(
      "whoami",
      [](const std::string& identity) -> msgpack::object_handle {
        pseud::detail::WireBuffer out;
        if (is_utf8(identity)) {
          msgpack::pack(out, identity);
        } else {
          msgpack::pack(out, Bytes(identity));
        }
        return msgpack::unpack(out.data(), out.size());
      },
      {.with_identity = true, .doc = "Returns the caller's identity (its user, else its routing id)."});
  peer.register_rpc("string.upper", [](std::string s) { return change_case(std::move(s), ::toupper); },
                    {.params = {"s"}, .doc = "Upper-cases s."});
  peer.register_rpc("string.lower", [](std::string s) { return change_case(std::move(s), ::tolower); },
                    {.params = {"s"}, .doc = "Lower-cases s."});
  // One count per process: `pseud serve` registers these once.
  static std::atomic<std::int64_t> notified{0};
  peer.register_rpc("note", [](const msgpack::object&) { notified.fetch_add(1); },
                    {.params = {"x"}, .doc = "Counts one notification (send it with pseud call --notify); returns nothing."});
  peer.register_rpc("count_notified", [] { return notified.load(); },
                    {.doc = "How many times note() has run in this process."});
  peer.register_rpc("power", [] { return std::string("small power"); }, {.doc = "Small power for everyone."});
  peer.register_rpc("power", [] { return std::string("great power"); },
                    {.domain = "restricted", .doc = "Great power for admins."});
  peer.register_rpc("admin.only", [] { return std::string("admin only"); },
                    {.domain = "restricted", .doc = "For admins only."});
  peer.registry().set_predicate("restricted", require_permission("admin"));
  register_handler_form_demos(peer);
}

void register_call_me_back(Server& server, std::function<void(const std::string& line)> report) {
  server.register_rpc(
      "call_me_back",
      [&server, report](const Caller& caller, const std::string& func, const Args& args, const Kwargs& kwargs) {
        const std::string peer = caller.identity();
        auto done = [report, peer, func](Result<msgpack::object_handle> result) {
          const std::string outcome = result.ok() ? result_field(result.get().get()) : error_field(result.error());
          report("{\"event\": \"callback\", \"peer\": " + json_text(peer) + ", \"func\": " + json_text(func) +
                 ", " + outcome + "}");
        };
        server.send_to(peer).async_call<msgpack::object_handle>(done, func, args, kwargs);
      },
      {.params = {"func"}, .doc = "Calls func(*args, **kwargs) back on the caller and returns at once."});
}

}  // namespace pseud::cli
