#include "roles.hpp"

#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <optional>
#include <stdexcept>

#include "echo_client.hpp"
#include "echo_server.hpp"
#include "spawn.hpp"

namespace bench {

namespace {

std::map<std::string, std::string> parse_pairs(const std::vector<std::string>& args) {
  std::map<std::string, std::string> pairs;
  for (const std::string& arg : args) {
    const auto at = arg.find('=');
    if (at == std::string::npos) throw std::runtime_error("role argument without '=': " + arg);
    pairs[arg.substr(0, at)] = arg.substr(at + 1);
  }
  return pairs;
}

RoleArgs parse_role_args(const std::vector<std::string>& args) {
  auto pairs = parse_pairs(args);
  auto get = [&](const char* key) -> const std::string& {
    auto it = pairs.find(key);
    if (it == pairs.end()) throw std::runtime_error(std::string("role argument missing: ") + key);
    return it->second;
  };
  auto number = [&](const char* key) { return std::stol(get(key)); };
  RoleArgs r;
  const std::string& path = get("path");
  r.path = path == "floor"          ? Path::floor
           : path == "pseud_client" ? Path::pseud_client
           : path == "pseud_server" ? Path::pseud_server
           : path == "pseud_bare"   ? Path::pseud_bare
           : path == "pseud_intercepted" ? Path::pseud_intercepted
                                    : Path::pseud;
  const std::string& transport = get("transport");
  r.config.transport = transport == "tcp" ? Transport::tcp : transport == "ipc" ? Transport::ipc : Transport::inproc;
  r.config.payload = static_cast<std::size_t>(number("payload"));
  r.config.mode = get("mode") == "throughput" ? Mode::throughput : Mode::latency;
  r.config.window = static_cast<std::size_t>(number("window"));
  r.config.curve = get("curve") == "on";
  r.config.peers = static_cast<std::size_t>(number("peers"));
  r.config.hwm = static_cast<int>(number("hwm"));
  r.config.observation = observation_of(r.path);
  r.endpoint = get("endpoint");
  r.server_key = get("server_key");
  r.trust = get("trust");
  r.warmup_ms = number("warmup_ms");
  r.duration_ms = number("duration_ms");
  r.parent = number("parent");
  return r;
}

// Prints one protocol line and flushes it.
void say(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

// The next line of stdin, waiting at most `timeout_ms`; nullopt on timeout or end of file.
std::optional<std::string> read_stdin_line(int timeout_ms) {
  std::string line;
  while (true) {
    pollfd item{STDIN_FILENO, POLLIN, 0};
    if (::poll(&item, 1, timeout_ms) <= 0) return std::nullopt;
    char c;
    if (::read(STDIN_FILENO, &c, 1) != 1) return std::nullopt;
    if (c == '\n') return line;
    line += c;
  }
}

// Blocks until stdin reaches end of file: the driver is done with us (or gone).
void wait_for_stdin_eof() {
  char chunk[256];
  while (true) {
    const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (n == 0 || (n < 0 && errno != EINTR)) return;
  }
}

std::unique_ptr<EchoServer> start_server(zmq::context_t& context, Impl impl, const Config& config,
                                         const std::optional<ServerCurve>& curve) {
  return impl == Impl::floor ? start_floor_server(context, config, curve) : start_pseud_server(config, curve);
}

}  // namespace

std::vector<std::string> role_command(const char* role, const RoleArgs& a) {
  return {role,
          std::string("path=") + name_of(a.path),
          std::string("transport=") + name_of(a.config.transport),
          "payload=" + std::to_string(a.config.payload),
          std::string("mode=") + name_of(a.config.mode),
          "window=" + std::to_string(a.config.window),
          std::string("curve=") + (a.config.curve ? "on" : "off"),
          "peers=" + std::to_string(a.config.peers),
          "hwm=" + std::to_string(a.config.hwm),
          "endpoint=" + (a.endpoint.empty() ? std::string("-") : a.endpoint),
          "server_key=" + a.server_key,
          "trust=" + a.trust,
          "warmup_ms=" + std::to_string(a.warmup_ms),
          "duration_ms=" + std::to_string(a.duration_ms),
          "parent=" + std::to_string(a.parent)};
}

int serve_main(const std::vector<std::string>& args) {
  try {
    const RoleArgs r = parse_role_args(args);
    die_with_parent(static_cast<pid_t>(r.parent));
    std::optional<ServerCurve> curve;
    if (r.config.curve) curve = ServerCurve{make_key_pair(), r.trust};
    zmq::context_t context;
    {
      auto server = start_server(context, server_impl(r.path), r.config, curve);
      say("READY " + server->endpoint() + " " + (curve ? curve->server.public_key : std::string("-")));
      wait_for_stdin_eof();
    }
    return 0;
  } catch (const std::exception& e) {
    say(std::string("FAILED server: ") + e.what());
    return 1;
  }
}

int drive_main(const std::vector<std::string>& args) {
  try {
    const RoleArgs r = parse_role_args(args);
    die_with_parent(static_cast<pid_t>(r.parent));
    // A last resort: the client never outlives its repetition by much.
    ::alarm(static_cast<unsigned>((r.warmup_ms + r.duration_ms) / 1000 + 60));
    const auto keys = read_stdin_line(10000);
    if (!keys) throw std::runtime_error("no keys line on stdin");
    char public_key[64] = {};
    char secret_key[64] = {};
    if (std::sscanf(keys->c_str(), "keys %63s %63s", public_key, secret_key) != 2) {
      throw std::runtime_error("malformed keys line");
    }
    ClientPlan plan;
    plan.config = r.config;
    plan.endpoint = r.endpoint;
    plan.warmup = std::chrono::milliseconds(r.warmup_ms);
    plan.duration = std::chrono::milliseconds(r.duration_ms);
    if (r.config.curve) plan.curve = ClientCurve{r.server_key, {public_key, secret_key}};

    zmq::context_t context;
    std::unique_ptr<EchoServer> server;
    if (r.config.transport == Transport::inproc) {
      // inproc: the server lives in this process by necessity.
      std::optional<ServerCurve> server_curve;
      if (r.config.curve) {
        const KeyPair client = make_key_pair();
        server_curve = ServerCurve{make_key_pair(), client.public_key};
        plan.curve = ClientCurve{server_curve->server.public_key, client};
      }
      server = start_server(context, server_impl(r.path), r.config, server_curve);
      plan.endpoint = server->endpoint();
    }
    const Measurement m =
        client_impl(r.path) == Impl::floor ? run_floor_client(context, plan) : run_pseud_client(plan);
    if (m.calls == 0) throw std::runtime_error("no call completed inside the measured window");
    say("RESULT " + to_result_line(m));
    return 0;
  } catch (const std::exception& e) {
    say(std::string("FAILED client: ") + e.what());
    return 1;
  }
}

}  // namespace bench
