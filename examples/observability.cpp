// Watching calls: an interceptor that logs every call's outcome and refuses
// some before they run, the metrics per function, and the debug lines of
// each call.

#include <cstdio>
#include <iostream>
#include <mutex>

#include <pseud/pseud.hpp>

// Prints each call once it ended, and refuses "admin.*" to callers without
// the "admin" permission. Hooks run on the peer's threads: keep them quick.
class AuditTrail final : public pseud::Interceptor {
 public:
  void before(const pseud::CallInfo& call) override {
    if (call.direction == pseud::CallDirection::incoming && call.function.starts_with("admin.") &&
        call.user_id != "root") {
      throw pseud::RemoteError("PermissionError", "admin functions are for root");
    }
  }
  void after(const pseud::CallInfo& call, const pseud::CallEnd& end) noexcept override {
    std::lock_guard lock(mutex_);
    std::printf("audit: %-8s %-14s %-9s %s %.3f ms\n", std::string(pseud::call_direction_name(call.direction)).c_str(),
                std::string(call.function).c_str(), std::string(pseud::call_outcome_name(end.outcome)).c_str(),
                std::string(end.error_name).c_str(), std::chrono::duration<double, std::milli>(end.duration).count());
  }

 private:
  std::mutex mutex_;
};

int main() {
  pseud::PeerOptions options;
  options.interceptors = {std::make_shared<AuditTrail>()};
  // Who may read the metrics remotely (pseud.metrics; `pseud stats ENDPOINT`):
  // here anyone; by default no remote caller.
  options.metrics_access = [](const pseud::PredicateArgs&) { return true; };
  pseud::Server server("server", options);
  server.register_rpc("add", [](int a, int b) { return a + b; });
  server.register_rpc("admin.reset", [] { return true; });
  pseud::Client client("server");
  client.connect(server.bind("tcp://127.0.0.1:*"));

  for (int i = 0; i < 20; ++i) client.call<int>("add", i, i);
  try {
    client.call<bool>("admin.reset");
  } catch (const pseud::RemoteError& e) {
    std::cout << "admin.reset refused: " << e.what() << "\n";
  }
  try {
    client.call<int>("sub", 1, 2);
  } catch (const pseud::ServiceNotFoundError& e) {
    std::cout << "sub: " << e.what() << "\n";
  }

  // The debug lines of one call (received, started, outcome with duration).
  pseud::set_log_handler([](pseud::LogLevel, std::string_view line) { std::cout << "log: " << line << "\n"; },
                         pseud::LogLevel::debug);
  client.call<int>("add", 1, 1);
  pseud::set_log_handler(nullptr);

  std::cout << "\nserver metrics:\n";
  for (const pseud::FunctionMetrics& f : server.metrics().functions) {
    std::printf("  %-8s %-14s calls %3llu errors %2llu p50 %.3f ms p99 %.3f ms\n",
                std::string(pseud::call_direction_name(f.direction)).c_str(), f.function.c_str(),
                static_cast<unsigned long long>(f.calls), static_cast<unsigned long long>(f.errors),
                f.p50.count() / 1e6, f.p99.count() / 1e6);
  }
  // The same, as a remote caller reads it.
  const auto remote = client.call(pseud::metrics_function);
  std::cout << "\npseud.metrics: " << remote.get() << "\n";
}
