#pragma once
// Two "hosts" for the network-namespace tests: two namespaces joined by a
// veth pair (TwoHosts), and a fault_peer run in one of them through
// `ip netns exec` (Host). Namespaces are named PREFIX<pid>-a and -b, so
// tests with different prefixes run side by side, and the ones a dead test
// process left behind are deleted first. Needs root and iproute2; TwoHosts
// says why when the set-up fails.

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "fault_support.hpp"

namespace pseud::faults {

// How long a Host waits for a line unless told otherwise.
inline constexpr auto host_wait = 5000ms;

// Deletes the namespaces named `prefix`<pid>... by a test process that no longer exists.
inline void delete_stale_namespaces(const std::string& prefix) {
  for (const char* dir_name : {"/run/netns", "/var/run/netns"}) {
    DIR* dir = ::opendir(dir_name);
    if (!dir) continue;
    std::vector<std::string> stale;
    while (const dirent* entry = ::readdir(dir)) {
      const std::string name = entry->d_name;
      if (name.rfind(prefix, 0) != 0) continue;
      const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
      if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) stale.push_back(name);
    }
    ::closedir(dir);
    for (const auto& name : stale) run_command({"ip", "netns", "delete", name});
  }
}

// What TwoHosts makes.
struct TwoHostsPlan {
  std::string prefix;       // namespaces: <prefix><pid>-a and -b
  std::string link_prefix;  // veth ends: <link_prefix><pid>a and b (at most 15 characters)
  std::string address_a;    // of A's end, in a /24 shared with B's
  std::string address_b;
  std::string nft_table{};  // when set: this nftables table in A, with empty input and output chains
};

// Two namespaces A and B joined by a veth pair (and an nftables table in A
// when the plan names one); all deleted by the destructor.
class TwoHosts {
 public:
  explicit TwoHosts(TwoHostsPlan plan) : plan_(std::move(plan)) {
    const std::string pid = std::to_string(::getpid());
    a_ns = plan_.prefix + pid + "-a";
    b_ns = plan_.prefix + pid + "-b";
    a_link = plan_.link_prefix + pid + "a";
    b_link = plan_.link_prefix + pid + "b";
    delete_stale_namespaces(plan_.prefix);
    std::vector<std::vector<std::string>> steps{
        {"ip", "netns", "add", a_ns},
        {"ip", "netns", "add", b_ns},
        {"ip", "link", "add", a_link, "netns", a_ns, "type", "veth", "peer", "name", b_link, "netns", b_ns},
        {"ip", "-n", a_ns, "addr", "add", plan_.address_a + "/24", "dev", a_link},
        {"ip", "-n", b_ns, "addr", "add", plan_.address_b + "/24", "dev", b_link},
        {"ip", "-n", a_ns, "link", "set", "lo", "up"},
        {"ip", "-n", b_ns, "link", "set", "lo", "up"},
        {"ip", "-n", a_ns, "link", "set", a_link, "up"},
        {"ip", "-n", b_ns, "link", "set", b_link, "up"},
    };
    if (!plan_.nft_table.empty()) {
      const std::string& table = plan_.nft_table;
      steps.push_back({"ip", "netns", "exec", a_ns, "nft",
                       "add table inet " + table + "; add chain inet " + table +
                           " in { type filter hook input priority 0; policy accept; }; add chain inet " + table +
                           " out { type filter hook output priority 0; policy accept; }"});
    }
    for (const auto& step : steps) {
      if (step[1] == "netns" && step[2] == "add") created_.push_back(step[3]);
      const CommandResult result = run_command(step);
      if (result.status != 0) {
        std::string command;
        for (const auto& part : step) command += (command.empty() ? "" : " ") + part;
        failure = "'" + command + "' failed (status " + std::to_string(result.status) + "): " + result.output;
        if (step[1] == "netns" && step[2] == "add") created_.pop_back();
        return;
      }
    }
  }
  ~TwoHosts() {
    for (const auto& name : created_) run_command({"ip", "netns", "delete", name});
  }
  TwoHosts(const TwoHosts&) = delete;
  TwoHosts& operator=(const TwoHosts&) = delete;

  // With an nftables table: drops everything on A's end of the link, both
  // directions (cut), and lets it through again (heal); each returns the nft run.
  CommandResult cut() {
    const std::string& table = plan_.nft_table;
    return run_command({"ip", "netns", "exec", a_ns, "nft",
                        "add rule inet " + table + " in iifname " + a_link + " drop; add rule inet " + table +
                            " out oifname " + a_link + " drop"});
  }
  CommandResult heal() {
    const std::string& table = plan_.nft_table;
    return run_command(
        {"ip", "netns", "exec", a_ns, "nft", "flush chain inet " + table + " in; flush chain inet " + table + " out"});
  }

  std::string a_ns, b_ns, a_link, b_link;
  std::string failure;  // why the set-up failed; empty when it worked

 private:
  TwoHostsPlan plan_;
  std::vector<std::string> created_;
};

// A fault_peer in a namespace, with every stdout line it wrote and when it arrived.
class Host {
 public:
  // `ip`: the absolute path of iproute2's ip (test::program_on_path("ip")).
  Host(const std::string& ip, const std::string& ns, std::vector<std::string> args) {
    std::vector<std::string> argv{"netns", "exec", ns, fault_peer_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    child_ = std::make_unique<test::ChildProcess>(ip, argv, fault_peer_options);
  }
  ~Host() {
    child_->close_stdin();
    child_->kill_and_reap();
  }
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  struct Line {
    std::string text;
    Clock::time_point at;
  };

  // The first line not yet taken that starts with `start`, reading more for up to `limit`.
  std::optional<Line> take(const std::string& start, std::chrono::milliseconds limit = host_wait) {
    const auto until = Clock::now() + limit;
    while (true) {
      for (auto it = unread_.begin(); it != unread_.end(); ++it) {
        if (it->text.rfind(start, 0) == 0) {
          Line line = *it;
          unread_.erase(it);
          return line;
        }
      }
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto text = child_->read_line(left);
      if (!text) return std::nullopt;
      unread_.push_back(Line{*text, Clock::now()});
    }
  }

  bool send(const std::string& command) { return child_->write(command + "\n", host_wait); }

  // Makes a call and waits for its outcome line ("result TAG MS VALUE" or "error TAG MS KIND ...").
  std::optional<Line> call(const std::string& tag, const std::string& destination, const std::string& function,
                           const std::string& arg, std::chrono::milliseconds limit = host_wait) {
    if (!send("call " + tag + " " + destination + " " + function + " " + arg)) return std::nullopt;
    return outcome(tag, limit);
  }
  std::optional<Line> outcome(const std::string& tag, std::chrono::milliseconds limit = host_wait) {
    const auto until = Clock::now() + limit;
    while (Clock::now() < until) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
      // Either outcome: look for both without losing order.
      for (const char* kind : {"result ", "error "}) {
        for (auto it = unread_.begin(); it != unread_.end(); ++it) {
          if (it->text.rfind(std::string(kind) + tag + " ", 0) == 0) {
            Line line = *it;
            unread_.erase(it);
            return line;
          }
        }
      }
      auto text = child_->read_line(left);
      if (!text) return std::nullopt;
      unread_.push_back(Line{*text, Clock::now()});
    }
    return std::nullopt;
  }
  std::string unread() const {
    std::string all;
    for (const auto& line : unread_) all += "\n  " + line.text;
    return all;
  }

 private:
  std::unique_ptr<test::ChildProcess> child_;
  std::vector<Line> unread_;
};

}  // namespace pseud::faults
