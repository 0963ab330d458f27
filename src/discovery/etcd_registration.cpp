// Layer 7 (discovery): an etcd registration: lease, put, keepalive every
// TTL/3 on its own thread, and a watch on its own key so that a lost key or
// a lost etcd is noticed at once and the record published again within
// retry_interval of etcd answering.
#include "discovery/etcd_registration.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "discovery/etcd_watch_loop.hpp"
#include "discovery/limits.hpp"
#include "discovery/stop_signal.hpp"
#include "log.hpp"

namespace pseud::detail::discovery {

namespace {

using Clock = std::chrono::steady_clock;

// What the keepalive thread and the key's watch share.
struct Lease {
  std::shared_ptr<const EtcdApi> api;
  std::string key;
  std::string value;
  std::chrono::seconds ttl;
  StopSignal stop;

  std::atomic<std::int64_t> lease_id{0};
  std::atomic<std::int64_t> put_revision{0};  // of the last put of the record

  std::mutex mutex;
  std::condition_variable wake;
  bool republish = false;  // the key's watch saw the key gone
  bool check = false;      // the key's watch lost etcd

  // Grants a new lease and puts the record under it. A put over a key
  // still there moves the key to the new lease, so watchers never see the
  // record vanish; the old lease is revoked after (it holds nothing now).
  void publish(const std::atomic<bool>* stop_flag) {
    const std::int64_t old = lease_id.load();
    const std::int64_t fresh = api->grant(ttl, request_timeout, stop_flag);
    lease_id.store(fresh);
    put_revision.store(api->put(key, value, fresh, request_timeout, stop_flag));
    if (old != 0) {
      try {
        api->revoke(old, request_timeout, stop_flag);
      } catch (const EtcdError&) {
        // It expires by itself; it holds no key any more.
      }
    }
  }

  void keep_alive() {
    const auto period = std::max<Clock::duration>(std::chrono::milliseconds(ttl) / 3, std::chrono::milliseconds(300));
    bool need_publish = false;
    bool failing = false;
    auto next = Clock::now() + period;
    std::unique_lock lock(mutex);
    while (!stop.stopped()) {
      if (need_publish) {
        lock.unlock();
        try {
          publish(&stop.flag());
          need_publish = false;
          next = Clock::now() + period;
          log(LogLevel::info, "discovery: published ", key, " again at etcd ", api->address());
          failing = false;
        } catch (const EtcdError& e) {
          if (stop.stopped()) return;
          if (!failing) {
            log(LogLevel::warning, "discovery: cannot publish ", key, " at etcd ", api->address(), ": ", e.what(),
                "; trying again every ", retry_interval.count(), " ms");
            failing = true;
          }
        }
        lock.lock();
        if (need_publish) {
          wake.wait_for(lock, retry_interval, [&] { return stop.stopped(); });
          continue;
        }
      }
      wake.wait_until(lock, next, [&] { return stop.stopped() || republish || check; });
      if (stop.stopped()) return;
      if (republish) {
        republish = check = false;
        log(LogLevel::warning, "discovery: ", key, " disappeared from etcd at ", api->address(), "; publishing it again");
        need_publish = true;
        continue;
      }
      check = false;
      lock.unlock();
      try {
        if (api->keepalive(lease_id.load(), request_timeout, &stop.flag()) <= 0) {
          log(LogLevel::warning, "discovery: the lease of ", key, " at etcd ", api->address(),
              " has expired; publishing the record again");
          need_publish = true;
        } else {
          next = Clock::now() + period;
        }
      } catch (const EtcdError& e) {
        if (stop.stopped()) return;
        log(LogLevel::warning, "discovery: cannot keep ", key, " alive at etcd ", api->address(), ": ", e.what(),
            "; publishing it again when etcd answers (trying every ", retry_interval.count(), " ms)");
        failing = true;
        need_publish = true;
      }
      lock.lock();
    }
  }

  // From the key's watch.
  void on_contents(const EtcdWatchLoop::Contents& contents, std::int64_t revision) {
    if (contents.count(key) != 0) return;
    const std::int64_t put = put_revision.load();
    if (put == 0 || revision < put) return;  // read before the record was put
    {
      std::lock_guard lock(mutex);
      republish = true;
    }
    wake.notify_all();
  }

  void on_lost() {
    {
      std::lock_guard lock(mutex);
      check = true;
    }
    wake.notify_all();
  }
};

class EtcdRegistration final : public Registration {
 public:
  EtcdRegistration(std::shared_ptr<const EtcdApi> api, std::string key, std::string value, std::chrono::seconds ttl)
      : lease_(std::make_shared<Lease>()) {
    lease_->api = std::move(api);
    lease_->key = std::move(key);
    lease_->value = std::move(value);
    lease_->ttl = ttl;
    lease_->publish(nullptr);  // throws EtcdError: nothing runs yet
    keeper_ = std::thread([lease = lease_] { lease->keep_alive(); });
    std::weak_ptr<Lease> weak = lease_;
    sentinel_ = std::make_unique<EtcdWatchLoop>(
        lease_->api, lease_->key, "the registration " + lease_->key,
        EtcdWatchLoop::Handler{[weak](const EtcdWatchLoop::Contents& contents, std::int64_t revision) {
                                 if (auto lease = weak.lock()) lease->on_contents(contents, revision);
                               },
                               [weak] {
                                 if (auto lease = weak.lock()) lease->on_lost();
                               }});
  }
  ~EtcdRegistration() override { withdraw(); }

  void withdraw() override {
    std::lock_guard lock(withdraw_mutex_);
    if (withdrawn_) return;
    withdrawn_ = true;
    const auto deadline = Clock::now() + withdraw_budget;
    lease_->stop.stop();
    {
      std::lock_guard wake_lock(lease_->mutex);  // a waiter between its check and its wait
    }
    lease_->wake.notify_all();
    sentinel_.reset();  // within ~50 ms
    keeper_.join();     // within ~50 ms: its requests watch the stop flag
    const auto left = [&] {
      return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()),
                      std::chrono::milliseconds(1));
    };
    try {
      lease_->api->delete_key(lease_->key, left());
      lease_->api->revoke(lease_->lease_id.load(), left());
    } catch (const EtcdError& e) {
      log(LogLevel::warning, "discovery: could not withdraw ", lease_->key, " from etcd at ", lease_->api->address(),
          ": ", e.what(), "; it disappears when its lease expires (TTL ", lease_->ttl.count(), " s)");
    }
  }

 private:
  std::shared_ptr<Lease> lease_;
  std::thread keeper_;
  std::unique_ptr<EtcdWatchLoop> sentinel_;
  std::mutex withdraw_mutex_;
  bool withdrawn_ = false;
};

}  // namespace

std::unique_ptr<Registration> make_etcd_registration(std::shared_ptr<const EtcdApi> api, std::string key,
                                                     std::string value, std::chrono::seconds ttl) {
  return std::make_unique<EtcdRegistration>(std::move(api), std::move(key), std::move(value), ttl);
}

}  // namespace pseud::detail::discovery
