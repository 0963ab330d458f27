#pragma once
// Layer 5 (service): the state behind a ServiceClient: its instances (one
// Client each), the calls waiting for a live one, the discovery it follows,
// and one thread that ends waiting calls at their deadline, lets them go
// when an instance comes up, and closes the connections of instances that
// left once their calls are answered.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pseud/discovery.hpp"
#include "pseud/registry.hpp"
#include "pseud/service_client.hpp"
#include "service/call_attempt.hpp"
#include "service/instance_set.hpp"
#include "service/version_range.hpp"
#include "service/waiting_room.hpp"

namespace pseud::detail {

class ServiceCore : public std::enable_shared_from_this<ServiceCore> {
 public:
  ServiceCore(std::string service, ServiceClientOptions options);
  ~ServiceCore();

  /// Starts the housekeeping thread (not in the constructor: it needs shared_from_this).
  void start();
  void connect(const std::string& endpoint);
  void follow(std::shared_ptr<Discovery> discovery, std::string version_range);
  void submit(OutgoingCall call);
  std::vector<InstanceStatus> instances() const;
  std::size_t wait_for_alive(std::size_t count, std::chrono::milliseconds limit);
  Registry& registry() noexcept { return registry_; }
  void stop();

 private:
  using Clock = std::chrono::steady_clock;

  /// Connects to one instance; false when max_instances is reached (or stopping).
  bool add_instance(std::string key, std::vector<std::string> endpoints, std::string instance_id, bool discovered);
  /// Makes the instance's Client and connects it at `instance.endpoint`.
  void connect_client(Instance& instance);
  /// Moves each instance down for endpoint_fallback at one endpoint to its
  /// next (under `lock`, released meanwhile); returns when to look again.
  std::optional<Clock::time_point> switch_endpoints(std::unique_lock<std::mutex>& lock);
  /// Takes an instance out of use; its connection closes once its calls are answered.
  void retire(const std::string& key);
  void on_discovered(const std::vector<InstanceRecord>& records);
  void dispatch(std::shared_ptr<CallAttempt> attempt);
  void attempt_done(const std::shared_ptr<CallAttempt>& attempt, const std::shared_ptr<Instance>& instance,
                    msgpack::object_handle* reply, std::exception_ptr error);
  void finish(const std::shared_ptr<CallAttempt>& attempt, msgpack::object_handle* reply, std::exception_ptr error);
  std::exception_ptr stopped_error(const CallAttempt& attempt) const;
  std::exception_ptr no_instance_error(const CallAttempt& attempt, bool timed_out) const;
  void wake();
  void housekeeping(std::stop_token stop);

  const std::string service_;
  const ServiceClientOptions options_;
  Registry registry_;  // before the instances: their clients search it

  mutable std::mutex mutex_;
  std::condition_variable_any changed_;
  bool stopping_ = false;
  bool instance_came_up_ = false;  // the waiting calls may go
  bool recheck_ = false;           // a waiting call was cancelled, or a retired instance has no call left
  InstanceSet set_;
  WaitingRoom waiting_;
  std::vector<std::shared_ptr<Instance>> retiring_;  // out of use, connection still open for its calls
  std::shared_ptr<Discovery> discovery_;
  std::optional<VersionRange> version_range_;
  std::unique_ptr<Watch> watch_;  // outside mutex_: its callback takes mutex_
  std::jthread housekeeper_;
};

}  // namespace pseud::detail
