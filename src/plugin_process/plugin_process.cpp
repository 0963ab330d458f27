// The host side of protocol/PLUGINS.md: launch, handshake, client, close.

#include "pseud/plugin_host.hpp"

#include <signal.h>

#include <algorithm>
#include <cstring>

#include "plugin_process/child_supervisor.hpp"
#include "plugin_process/private_directory.hpp"
#include "plugin_process/program_digest.hpp"
#include "pseud/errors.hpp"
#include "pseud/keys.hpp"
#include "pseud/log.hpp"

namespace pseud {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string PluginExit::describe() const {
  if (exited) return "exit status " + std::to_string(code);
  const char* name = ::strsignal(signal);
  return "killed by signal " + std::to_string(signal) + (name ? std::string(" (") + name + ")" : "");
}

namespace {

// After SIGKILL only an uninterruptible sleep in the kernel can hold a process.
constexpr milliseconds kill_wait{10000};

void check_launch(const PluginLaunch& launch) {
  if (launch.argv.empty() || launch.argv.front().empty()) throw UsageError("plugin: the command line (argv) is empty");
  if (launch.versions.empty()) throw UsageError("plugin: no protocol version offered (PluginLaunch::versions)");
  for (int version : launch.versions)
    if (version <= 0) throw UsageError("plugin: protocol versions are positive integers, got " + std::to_string(version));
  if (launch.transports.empty()) throw UsageError("plugin: no transport offered (PluginLaunch::transports)");
  PluginCookie::parse(launch.cookie.key + "=" + launch.cookie.value);  // a key that can be a variable name
  if (launch.client_options.auth.name != "noop")
    throw UsageError("plugin: client_options.auth is the host's own (CURVE with keys made for each launch); leave it unset");
  const std::string reserved[] = {launch.cookie.key,      plugin_env::versions,   plugin_env::transports,
                                  plugin_env::client_key, plugin_env::handshake_fd, plugin_env::socket_dir};
  for (const auto& entry : launch.environment) {
    if (entry.find('=') == std::string::npos || entry.front() == '=')
      throw UsageError("plugin: an environment entry is not KEY=VALUE: '" + entry + "'");
    const std::string key = entry.substr(0, entry.find('='));
    if (std::find(std::begin(reserved), std::end(reserved), key) != std::end(reserved))
      throw UsageError("plugin: the environment entry " + key + " is the host's to set (the cookie or protocol/PLUGINS.md)");
  }
}

std::string default_name(const std::string& argv0) {
  const std::size_t slash = argv0.rfind('/');
  return slash == std::string::npos ? argv0 : argv0.substr(slash + 1);
}

std::string transports_text(const std::vector<PluginTransport>& transports) {
  std::string text;
  for (auto transport : transports) text += (text.empty() ? "" : ",") + std::string(plugin_transport_name(transport));
  return text;
}

}  // namespace

class PluginProcess::Impl {
 public:
  explicit Impl(PluginLaunch launch);
  ~Impl() { close(); }

  PluginExit close();

  PluginLaunch launch_;
  std::string name_;
  detail::PrivateDirectory directory_;
  std::string directory_path_;
  std::unique_ptr<detail::ChildSupervisor> child_;
  PluginHandshake handshake_;
  std::string endpoint_;
  pid_t pid_ = -1;
  std::unique_ptr<Client> client_;
  std::optional<PluginExit> closed_;

 private:
  void launch(const CurveKeyPair& keys);
  void connect(const CurveKeyPair& keys, Clock::time_point deadline);
  [[noreturn]] void fail(const std::string& what);
  std::string stderr_tail() const;
  PluginExit stop_process(bool ask_first);
};

PluginProcess::Impl::Impl(PluginLaunch launch) : launch_(std::move(launch)) {
  check_launch(launch_);
  name_ = launch_.name.empty() ? default_name(launch_.argv.front()) : launch_.name;
  const auto deadline = Clock::now() + launch_.start_timeout;
  const CurveKeyPair keys = generate_curve_keypair();
  this->launch(keys);

  const auto line = child_->wait_handshake(deadline);
  if (!line) {
    if (const auto exit = child_->wait_exit(Clock::now()))
      fail("plugin '" + name_ + "' ended (" + exit->describe() + ") before its handshake" + stderr_tail());
    fail("plugin '" + name_ + "' wrote no handshake line within " + std::to_string(launch_.start_timeout.count()) +
         " ms" + stderr_tail());
  }
  try {
    handshake_ = parse_plugin_handshake(*line);
  } catch (const PluginError& e) {
    fail("plugin '" + name_ + "': " + e.what());
  }
  if (std::find(launch_.versions.begin(), launch_.versions.end(), handshake_.version) == launch_.versions.end())
    fail("plugin '" + name_ + "' chose protocol version " + std::to_string(handshake_.version) +
         ", which the host does not speak: the host offered " + plugin_versions_text(launch_.versions));
  if (std::find(launch_.transports.begin(), launch_.transports.end(), handshake_.transport) == launch_.transports.end())
    fail("plugin '" + name_ + "' listens over " + std::string(plugin_transport_name(handshake_.transport)) +
         ", which the host did not offer (" + transports_text(launch_.transports) + ")");
  endpoint_ = handshake_.endpoint();
  connect(keys, deadline);
}

void PluginProcess::Impl::launch(const CurveKeyPair& keys) {
  const bool unix_offered = std::find(launch_.transports.begin(), launch_.transports.end(),
                                      PluginTransport::unix_socket) != launch_.transports.end();
  if (unix_offered) {
    try {
      directory_ = detail::PrivateDirectory::make();
    } catch (const PluginError& e) {
      throw PluginError("plugin '" + name_ + "': " + e.what());
    }
    directory_path_ = directory_.path();
  }
  std::vector<std::string> environment = launch_.environment;
  environment.push_back(launch_.cookie.key + "=" + launch_.cookie.value);
  environment.push_back(std::string(plugin_env::versions) + "=" + plugin_versions_text(launch_.versions));
  environment.push_back(std::string(plugin_env::transports) + "=" + transports_text(launch_.transports));
  environment.push_back(std::string(plugin_env::client_key) + "=" + keys.public_key);
  environment.push_back(std::string(plugin_env::handshake_fd) + "=3");
  if (unix_offered) environment.push_back(std::string(plugin_env::socket_dir) + "=" + directory_path_);

  auto sink = launch_.on_output;
  if (!sink)
    sink = [name = name_](PluginStream stream, std::string_view line) {
      log(stream == PluginStream::stderr_stream ? LogLevel::info : LogLevel::debug, "plugin ", name, ": ", line);
    };
  try {
    detail::ChildPlan plan{detail::resolve_program(launch_.argv.front()), -1, launch_.argv,
                           detail::environment_with(environment)};
    detail::UniqueFd pinned;  // open until the fork, in the constructor below
    if (!launch_.sha256.empty()) {
      pinned = detail::open_pinned_program(plan.program, launch_.sha256);
      plan.program_fd = pinned.get();
    }
    child_ = std::make_unique<detail::ChildSupervisor>(std::move(plan), std::move(sink));
  } catch (const PluginError& e) {
    directory_.remove();
    throw PluginError("plugin '" + name_ + "': " + e.what());
  }
  pid_ = child_->pid();
  log(LogLevel::debug, "plugin ", name_, ": started, pid ", pid_);
}

void PluginProcess::Impl::connect(const CurveKeyPair& keys, Clock::time_point deadline) {
  PeerOptions options = launch_.client_options;
  options.auth = {"trusted_curve", {{"server_public_key", handshake_.server_key},
                                    {"public_key", keys.public_key},
                                    {"secret_key", keys.secret_key}}};
  try {
    client_ = std::make_unique<Client>(std::string(plugin_server_name), std::move(options));
    client_->connect(endpoint_);
    CallOptions first;
    first.deadline = std::max(deadline, Clock::now() + milliseconds(1));
    first.wait_for_ready = true;
    const auto status = client_->call<std::string>(health_function, first);
    if (status != health_serving) fail("plugin '" + name_ + "' is not serving: pseud.health said " + status);
  } catch (const PluginError&) {
    throw;
  } catch (const std::exception& e) {
    fail("plugin '" + name_ + "' did not answer at " + endpoint_ + ": " + e.what() + stderr_tail());
  }
}

std::string PluginProcess::Impl::stderr_tail() const {
  const auto lines = child_ ? child_->last_stderr_lines() : std::vector<std::string>{};
  if (lines.empty()) return "";
  std::string text = "; its stderr said:";
  for (const auto& line : lines) text += "\n  " + line;
  return text;
}

void PluginProcess::Impl::fail(const std::string& what) {
  const std::string message = what;
  stop_process(false);
  throw PluginError(message);
}

PluginExit PluginProcess::Impl::stop_process(bool ask_first) {
  PluginExit result;
  if (child_) {
    const auto start = Clock::now();
    if (ask_first && client_ && !child_->exited()) {
      CallOptions shutdown;
      shutdown.timeout = launch_.grace;
      client_->async_call([](Result<msgpack::object_handle>) {}, plugin_shutdown_function, shutdown);
    }
    auto exit = child_->wait_exit(start + (ask_first ? launch_.grace : milliseconds(0)));
    if (!exit) {
      log(LogLevel::info, "plugin ", name_, ": still running", ask_first ? " after the grace" : "",
          ", SIGTERM to its process group");
      child_->signal_group(SIGTERM);
      exit = child_->wait_exit(Clock::now() + launch_.kill_delay);
    }
    if (!exit) {
      log(LogLevel::warning, "plugin ", name_, ": still running after SIGTERM, SIGKILL to its process group");
      child_->signal_group(SIGKILL);
      exit = child_->wait_exit(Clock::now() + kill_wait);
    }
    if (exit) result = *exit;
    child_.reset();  // joins the supervising thread: reaped, pipes read
  }
  if (client_) {
    client_->stop();
    client_.reset();
  }
  directory_.remove();
  return result;
}

PluginExit PluginProcess::Impl::close() {
  if (closed_) return *closed_;
  closed_ = stop_process(true);
  log(LogLevel::debug, "plugin ", name_, ": closed, ", closed_->describe());
  return *closed_;
}

PluginProcess::PluginProcess(PluginLaunch launch) : impl_(std::make_unique<Impl>(std::move(launch))) {}
PluginProcess::~PluginProcess() = default;
PluginProcess::PluginProcess(PluginProcess&&) noexcept = default;
PluginProcess& PluginProcess::operator=(PluginProcess&&) noexcept = default;

Client& PluginProcess::client() {
  if (!impl_->client_) throw UsageError("plugin '" + impl_->name_ + "' is closed: it has no client");
  return *impl_->client_;
}
int PluginProcess::version() const noexcept { return impl_->handshake_.version; }
pid_t PluginProcess::pid() const noexcept { return impl_->pid_; }
const std::string& PluginProcess::endpoint() const noexcept { return impl_->endpoint_; }
const PluginHandshake& PluginProcess::handshake() const noexcept { return impl_->handshake_; }
const std::string& PluginProcess::name() const noexcept { return impl_->name_; }
const std::string& PluginProcess::socket_directory() const noexcept { return impl_->directory_path_; }
bool PluginProcess::running() const { return impl_->child_ && !impl_->child_->exited(); }
PluginExit PluginProcess::close() { return impl_->close(); }

}  // namespace pseud
