// Target "auth": the in-band login of the untrusted_curve backend, the one
// backend that parses credentials out of a message body. A fresh server
// backend (user john / s3cret!) challenges one connection, then each of the
// input's pieces (fuzz_input.hpp, at most 4) arrives as a HELLO body. Every
// HELLO gets exactly one answer, and only the right credentials, within the
// allowed tries, log in. The same pieces also go through the PLAIN check
// (PasswordStore::verify, what the plain backend's ZAP handler runs) and
// through python_bytes_repr(), which must be reversible.

#include <cstdlib>
#include <functional>
#include <memory>
#include <variant>
#include <vector>

#include "body_checks.hpp"
#include "fuzz_input.hpp"
#include "fuzz_targets.hpp"
#include "pseud/backends.hpp"
#include "pseud/passwords.hpp"
#include "wire/bodies.hpp"

namespace pseud::fuzz {

namespace {

constexpr std::string_view login = "john";
constexpr std::string_view password = "s3cret!";
constexpr std::size_t max_hellos = 4;
constexpr int allowed_tries = 2;  // untrusted_curve's limit per connection
// A key pair made for these tests only (pseud keygen).
constexpr std::string_view server_secret = "uBGH8rF]z6.wU=LHD$pV*SP=x4g!Y$CF[Vet}ADL";
constexpr std::string_view client_public = "Ty)CH+N=9]1m.X]cceu8md.I0u%<526r@IIf6Yir";

struct Sent {
  bool authenticated = false;  // AUTHENTICATED, else UNAUTHORIZED
  std::string id;
  std::string text;
};

// The engine's side of the backend interface, recording what it is asked to send.
class RecordingHost final : public AuthHost {
 public:
  std::vector<Sent> sent;
  std::vector<std::string> bound_users;

  PeerRole role() const noexcept override { return PeerRole::server; }
  const std::string& own_routing_id() const noexcept override { return name_; }
  zmq::socket_ref socket() noexcept override { return {}; }
  zmq::context_t& context() noexcept override {
    require(false, "the HELLO path needs no ZeroMQ context");
    std::abort();
  }
  void send_unauthorized(std::string_view, std::string_view id, std::string_view text) override {
    sent.push_back({false, std::string(id), std::string(text)});
  }
  void send_authenticated(std::string_view, std::string_view id, std::string_view text) override {
    sent.push_back({true, std::string(id), std::string(text)});
  }
  void bind_user(std::string_view user, std::string_view) override { bound_users.emplace_back(user); }
  void send_hello(std::string_view, std::string_view, std::string_view, std::string_view) override {
    require(false, "a server never sends HELLO");
  }
  bool resend_work(std::string_view) override { return false; }
  void fail_call(std::string_view, std::string_view) override { require(false, "a server fails no calls"); }
  // Synchronous: the check runs to completion before the next HELLO, as the
  // backend refuses a HELLO that arrives while one is being checked.
  bool defer(std::function<void()> work, std::function<void()> done) override {
    work();
    done();
    return true;
  }

 private:
  std::string name_ = "server";
};

std::unique_ptr<AuthBackend> make_server() {
  BackendChoice choice{"untrusted_curve",
                       Settings{{"secret_key", std::string(server_secret)},
                                {"user", std::string(login) + "=" + std::string(password)},
                                {"hash_cost", "minimal"},
                                {"permission", std::string(login) + "=admin"}}};
  return make_auth_backend(choice, PeerRole::server);
}

bool right_credentials(std::string_view body) {
  auto value = wire::unpack_body(body);
  auto* handle = std::get_if<msgpack::object_handle>(&value);
  if (!handle) return false;
  auto hello = wire::decode_hello(handle->get());
  return hello && hello->login == login && hello->password == password;
}

// Reads back Python's repr() of bytes, as python_bytes_repr() writes it; nullopt when it is not one.
std::optional<std::string> parse_bytes_repr(std::string_view repr) {
  if (repr.size() < 3 || repr[0] != 'b' || (repr[1] != '\'' && repr[1] != '"') || repr.back() != repr[1]) {
    return std::nullopt;
  }
  const char quote = repr[1];
  std::string out;
  for (std::size_t i = 2; i + 1 < repr.size(); ++i) {
    const auto byte = static_cast<unsigned char>(repr[i]);
    if (byte < 0x20 || byte >= 0x7f || repr[i] == quote) return std::nullopt;
    if (repr[i] != '\\') {
      out += repr[i];
      continue;
    }
    if (++i + 1 >= repr.size()) return std::nullopt;
    const char escaped = repr[i];
    if (escaped == '\\' || escaped == '\'' || escaped == '"') {
      out += escaped;
    } else if (escaped == 'n' || escaped == 'r' || escaped == 't') {
      out += escaped == 'n' ? '\n' : escaped == 'r' ? '\r' : '\t';
    } else if (escaped == 'x' && i + 3 < repr.size()) {
      const std::string hex(repr.substr(i + 1, 2));
      char* end = nullptr;
      const long value = std::strtol(hex.c_str(), &end, 16);
      if (end != hex.c_str() + 2) return std::nullopt;
      out += static_cast<char>(value);
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

const PasswordStore& plain_users() {
  static const auto store = [] {
    auto users = std::make_unique<PasswordStore>();
    users->add_password(std::string(login), password, HashCost::minimal);
    return users;
  }();
  return *store;
}

}  // namespace

int fuzz_auth(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::string_view> hellos = split_pieces(bytes_of(data, size), max_hellos);

  for (const std::string_view piece : hellos) {
    (void)unpack_checked(piece);
    const auto repr = parse_bytes_repr(wire::python_bytes_repr(piece));
    require(repr && *repr == piece, "python_bytes_repr() is printable ASCII and reads back to the bytes");
  }
  if (hellos.size() >= 2 && hellos[0].size() <= 255 && hellos[1].size() <= 255) {
    const bool right = hellos[0] == login && hellos[1] == password;
    require(plain_users().verify(hellos[0], hellos[1]) == right, "PLAIN accepts exactly the right login and password");
  }

  const auto server = make_server();
  RecordingHost host;
  const Connection from{"client-1", client_public};
  require(!server->is_authenticated(from), "a new connection is not authenticated");
  server->handle_unauthenticated(host, from, "work-id");
  require(host.sent.size() == 1 && !host.sent[0].authenticated && host.sent[0].text == "Authentication Required",
          "an unauthenticated WORK is challenged");

  bool logged_in = false;
  int tries = 0;
  for (std::size_t i = 0; i < hellos.size(); ++i) {
    const std::string id = "hello-" + std::to_string(i);
    const std::size_t before = host.sent.size();
    server->handle_hello(host, from, id, hellos[i]);
    require(host.sent.size() == before + 1, "every HELLO gets exactly one answer");
    const Sent& answer = host.sent.back();
    require(answer.id == id, "the answer carries the HELLO's id");
    const bool expected = !logged_in && tries < allowed_tries && right_credentials(hellos[i]);
    ++tries;
    require(answer.authenticated == expected, "only the right credentials, within the allowed tries, log in");
    if (answer.authenticated) {
      require(answer.text == "Welcome b'john'", "AUTHENTICATED greets the login as Python does");
      require(host.bound_users.size() == 1 && host.bound_users[0] == login, "the login is bound to its routing id");
      logged_in = true;
    } else {
      require(answer.text == "Authentication Error", "a refused HELLO gets Authentication Error");
    }
  }
  require(server->is_authenticated(from) == logged_in, "a connection is authenticated exactly when it logged in");
  if (logged_in) {
    require(server->user_of(from) == login, "a logged-in connection speaks for its login");
    Caller caller{"client-1", std::string(login), {}};
    require(server->predicate_arguments(caller).has_permission("admin"), "the login's permissions apply");
  }
  return 0;
}

}  // namespace pseud::fuzz
