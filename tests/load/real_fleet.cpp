// The real fleet: one pseud::Client per simulated peer (an engine thread and
// its sockets each), to cross-check the simulated fleet at a smaller count.
// Calls use the callback form's core (pack_call + submit); during a load each
// reply's callback (on that client's engine thread) issues the next call, so
// one call is in flight per client.

#include <poll.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>

#include "clock.hpp"
#include "fleet.hpp"
#include "pseud/pseud.hpp"
#include "wire.hpp"

namespace pseud::load {

namespace {

using namespace std::chrono_literals;

struct Slot {
  std::unique_ptr<pseud::Client> client;
  std::mutex mutex;  // guards the figures below (written on the client's engine thread)
  Histogram latency;
  std::uint64_t in_window = 0;
  std::int64_t sent_ns = 0;
  bool first_done = false;
};

class RealFleet final : public Fleet {
 public:
  explicit RealFleet(const FleetOptions& options) : options_(options), payload_(payload_bytes(options.payload)) {
    slots_.reserve(options.count);
    for (std::size_t i = 0; i < options.count; ++i) slots_.push_back(std::make_unique<Slot>());
  }

  ~RealFleet() override {
    for (auto& slot : slots_) {
      if (slot->client) slot->client->stop();
    }
  }

  ConnectReport connect_all(std::int64_t deadline_ns) override {
    {
      std::lock_guard lock(mutex_);
      first_pending_ = slots_.size();
    }
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      Slot& slot = *slots_[i];
      slot.client = std::make_unique<pseud::Client>(std::string(server_name), client_options(i));
      slot.client->connect(options_.endpoint);
      issue(slot, deadline_ns);
    }
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::nanoseconds(std::max<std::int64_t>(0, deadline_ns - now_ns())),
                      [this] { return first_pending_ == 0; });
    ConnectReport report = connect_;
    report.failed += first_pending_;
    return report;
  }

  void idle_until_readable(int fd, std::int64_t deadline_ns) override {
    // The clients' engine threads keep them alive; only wait for the descriptor.
    pollfd item{fd, POLLIN, 0};
    while (::poll(&item, 1, ms_until(deadline_ns)) < 0 && errno == EINTR) {
    }
  }

  LoadReport load(std::int64_t start_ns, std::int64_t end_ns, std::int64_t drain_ns) override {
    {
      std::lock_guard lock(mutex_);
      window_start_ = start_ns;
      window_end_ = end_ns;
      loading_ = true;
      in_flight_ = slots_.size();
    }
    for (auto& slot : slots_) issue(*slot, drain_ns);
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::nanoseconds(std::max<std::int64_t>(0, drain_ns - now_ns())),
                      [this] { return in_flight_ == 0; });
    loading_ = false;
    LoadReport report;
    report.unanswered = in_flight_;
    lock.unlock();
    for (auto& slot : slots_) {
      std::lock_guard slot_lock(slot->mutex);
      report.in_window += slot->in_window;
      report.latency.merge(slot->latency);
      slot->in_window = 0;
      slot->latency = Histogram{};
    }
    return report;
  }

  FleetCounters counters() const override {
    std::lock_guard lock(mutex_);
    return counters_;
  }

 private:
  pseud::PeerOptions client_options(std::size_t index) const {
    pseud::PeerOptions options;
    options.worker_threads = 0;  // no blocking handlers here: no pool threads
    if (options_.liveness) {
      options.heartbeat = {"liveness",
                           {{"interval_ms", std::to_string(options_.interval_ms)},
                            {"liveness", std::to_string(options_.liveness_count)}}};
    }
    if (!options_.server_public_key.empty()) {
      const KeyPair& keys = options_.keys.at(index);
      options.auth = {"trusted_curve",
                      {{"server_public_key", z85(options_.server_public_key)},
                       {"public_key", z85(keys.public_key)},
                       {"secret_key", z85(keys.secret_key)}}};
    }
    return options;
  }

  void issue(Slot& slot, std::int64_t deadline_ns) {
    {
      std::lock_guard lock(slot.mutex);
      slot.sent_ns = now_ns();
    }
    {
      std::lock_guard lock(mutex_);
      ++counters_.calls;
    }
    const auto timeout = std::chrono::milliseconds(std::max<std::int64_t>(1, (deadline_ns - now_ns()) / 1'000'000));
    // The callback form's core (what async_call(callback, ...) does), with the
    // raw reply: the OK body is compared with the payload as msgpack bytes.
    auto call = pseud::detail::pack_call(std::string(server_name), function, payload_, pseud::CallOptions{.timeout = timeout});
    call.on_reply = [this, &slot, deadline_ns](msgpack::object_handle* reply, std::exception_ptr error) {
      on_reply(slot, reply ? &reply->get() : nullptr, std::move(error), deadline_ns);
    };
    pseud::detail::PeerAccess::submit(*slot.client, std::move(call));
  }

  void on_reply(Slot& slot, const msgpack::object* value, std::exception_ptr failure, std::int64_t deadline_ns) {
    const auto now = now_ns();
    std::string error;
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        error = e.what();
      }
    } else if (!value || value->type != msgpack::type::BIN ||
               std::string_view(value->via.bin.ptr, value->via.bin.size) != payload_.data) {
      error = "OK body is not the payload";
    }
    std::int64_t sent_ns;
    bool first;
    {
      std::lock_guard lock(slot.mutex);
      sent_ns = slot.sent_ns;
      first = !slot.first_done;
      slot.first_done = true;
    }
    std::unique_lock lock(mutex_);
    if (error.empty()) {
      ++counters_.ok;
    } else if (counters_.errors++ == 0) {
      counters_.first_error = error;
    }
    if (first) {
      --first_pending_;
      if (error.empty()) {
        ++connect_.ok;
        connect_.first_call.add((now - options_.t0_ns) / 1000);
        connect_.last_ns = std::max(connect_.last_ns, now);
      } else {
        ++connect_.failed;
      }
      changed_.notify_all();
      return;
    }
    if (!loading_) return;
    const bool again = error.empty() && now < window_end_;
    const bool in_window = error.empty() && now >= window_start_ && now < window_end_;
    if (!again) {
      --in_flight_;
      changed_.notify_all();
    }
    lock.unlock();
    if (in_window) {
      std::lock_guard slot_lock(slot.mutex);
      ++slot.in_window;
      slot.latency.add((now - sent_ns) / 1000);
    }
    if (again) issue(slot, deadline_ns);
  }

  FleetOptions options_;
  pseud::Bytes payload_;
  std::vector<std::unique_ptr<Slot>> slots_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t first_pending_ = 0;
  std::size_t in_flight_ = 0;
  bool loading_ = false;
  std::int64_t window_start_ = 0;
  std::int64_t window_end_ = 0;
  ConnectReport connect_;
  FleetCounters counters_;
};

}  // namespace

std::unique_ptr<Fleet> make_real_fleet(const FleetOptions& options) { return std::make_unique<RealFleet>(options); }

}  // namespace pseud::load
