// The etcd test fixture: spawn (in a network namespace when told), health
// checks over a raw socket, stop, freeze, wipe and restart.
#include "etcd_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>
#include <vector>

#include "child_process.hpp"

namespace pseud::test {

namespace {

using namespace std::chrono_literals;

// A port no one listens on now: bind port 0 on loopback, read it, close.
// `avoid` is never returned (the other port of the pair).
int free_port(int avoid) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    ::close(fd);
    if (!ok) throw std::runtime_error(std::string("cannot bind a loopback port: ") + std::strerror(errno));
    const int port = ntohs(address.sin_port);
    if (port != avoid) return port;
  }
  throw std::runtime_error("no free loopback port");
}

// GET `path` on `host`:`port`, the whole answer within `limit` (empty on failure).
std::string http_get(const std::string& host, int port, const char* path, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) return {};
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return {};
  std::string answer;
  auto left_ms = [&] {
    return static_cast<int>(
        std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count()));
  };
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return {};
  }
  pollfd item{fd, POLLOUT, 0};
  if (::poll(&item, 1, left_ms()) != 1 || (item.revents & (POLLERR | POLLHUP)) != 0) {
    ::close(fd);
    return {};
  }
  const std::string request = std::string("GET ") + path + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return {};
  }
  while (answer.size() < 65536) {
    item = pollfd{fd, POLLIN, 0};
    if (::poll(&item, 1, left_ms()) != 1) break;
    char chunk[4096];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    answer.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return answer;
}

// http_get from inside network namespace `ns` (empty: this one): on a thread
// of its own, which setns() moves there and which then ends.
std::string http_get_in(const std::string& ns, const std::string& host, int port, const char* path,
                        std::chrono::milliseconds limit) {
  if (ns.empty()) return http_get(host, port, path, limit);
  std::string answer;
  std::thread([&] {
    const int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    const bool entered = ::setns(fd, CLONE_NEWNET) == 0;
    ::close(fd);
    if (entered) answer = http_get(host, port, path, limit);
  }).join();
  return answer;
}

}  // namespace

std::string EtcdServer::program() {
  const char* configured = std::getenv("PSEUD_ETCD");
  return configured != nullptr && *configured != '\0' ? configured : "/usr/bin/etcd";
}

bool EtcdServer::installed() { return ::access(program().c_str(), X_OK) == 0; }

EtcdServer::EtcdServer() : EtcdServer(EtcdServerOptions{}) {}

EtcdServer::EtcdServer(EtcdServerOptions options) : options_(std::move(options)) {
  if (!options_.network_namespace.empty()) {
    ip_program_ = program_on_path("ip");
    if (ip_program_.empty()) throw std::runtime_error("etcd in a network namespace needs iproute2's 'ip' on PATH");
  }
  char pattern[] = "/tmp/pseud-etcd-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  directory_ = pattern;
  data_dir_ = directory_ + "/data";
  log_path_ = directory_ + "/etcd.log";
  for (int attempt = 0; attempt < 3; ++attempt) {
    client_port_ = free_port(0);
    peer_port_ = free_port(client_port_);
    if (launch_and_wait()) return;
    kill_now();
    std::filesystem::remove_all(data_dir_);  // a port taken meanwhile: try others
  }
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
  throw std::runtime_error("etcd did not become healthy in 3 tries (see its log in " + log_path_ + ")");
}

EtcdServer::~EtcdServer() {
  kill_now();
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

std::string EtcdServer::client_url() const {
  return "http://" + options_.host + ":" + std::to_string(client_port_);
}
std::string EtcdServer::address() const { return "etcd://" + options_.host + ":" + std::to_string(client_port_); }

bool EtcdServer::launch_and_wait() {
  const std::string client = client_url();
  const std::string peer = "http://" + options_.host + ":" + std::to_string(peer_port_);
  std::vector<std::string> args;
  if (!options_.network_namespace.empty()) args = {ip_program_, "netns", "exec", options_.network_namespace};
  args.insert(args.end(), {program(), "--name", "t", "--data-dir", data_dir_, "--listen-client-urls", client,
                           "--advertise-client-urls", client, "--listen-peer-urls", peer,
                           "--initial-advertise-peer-urls", peer, "--initial-cluster", "t=" + peer,
                           "--initial-cluster-state", "new"});
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  pid_ = ::fork();
  if (pid_ < 0) {
    if (log_fd >= 0) ::close(log_fd);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid_ == 0) {
    // The child: only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(3);
    if (log_fd >= 0) {
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (log_fd >= 0) ::close(log_fd);
  const auto until = Clock::now() + 10s;
  while (Clock::now() < until) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    if (healthy(200ms)) return true;
    ::poll(nullptr, 0, 20);  // polling step
  }
  return false;
}

bool EtcdServer::healthy(std::chrono::milliseconds limit) const {
  return http_get_in(options_.network_namespace, options_.host, client_port_, "/health", limit).find("\"health\":\"true\"") != std::string::npos;
}

void EtcdServer::kill_now() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

void EtcdServer::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGCONT);  // a frozen one must run to end
  ::kill(pid_, SIGTERM);
  const auto until = Clock::now() + grace;
  while (Clock::now() < until) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    ::poll(nullptr, 0, 10);  // polling step
  }
  kill_now();
}

EtcdServer::Clock::time_point EtcdServer::start() {
  if (pid_ > 0) throw std::runtime_error("etcd is already running");
  if (!launch_and_wait()) {
    kill_now();
    throw std::runtime_error("etcd did not become healthy again on port " + std::to_string(client_port_) +
                             " within 10 s (see its log in " + log_path_ + ")");
  }
  return Clock::now();
}

void EtcdServer::wipe_data() {
  if (pid_ > 0) throw std::runtime_error("stop etcd before wiping its data");
  std::filesystem::remove_all(data_dir_);
}

void EtcdServer::freeze() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void EtcdServer::thaw() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

}  // namespace pseud::test
