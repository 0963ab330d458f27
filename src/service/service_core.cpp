#include "service/service_core.hpp"

#include <algorithm>
#include <shared_mutex>
#include <utility>

#include "pseud/errors.hpp"
#include "pseud/log.hpp"
#include "pseud/peer.hpp"
#include "service/failover.hpp"

namespace pseud::detail {

namespace {

std::string what_of(std::exception_ptr error) {  // a copy: it stays alive while read
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

// Errors are made by a function of their own, never inside the call that
// hands them over: the temporary exception shares its message with the
// thrown copy, and must be gone before another thread can read and release
// that copy (the count they share lives in libstdc++, where ThreadSanitizer
// cannot see it order the two).
template <class E>
std::exception_ptr error_of(std::string message) {
  return std::make_exception_ptr(E(std::move(message)));
}

// The instance id in an announced routing id "<service>@<instance>".
std::string instance_of(const std::string& routing_id, const std::string& service) {
  const std::string prefix = service + "@";
  return routing_id.starts_with(prefix) ? routing_id.substr(prefix.size()) : std::string();
}

}  // namespace

ServiceCore::ServiceCore(std::string service, ServiceClientOptions options)
    : service_(std::move(service)),
      options_(std::move(options)),
      registry_(options_.peer.parent_registry),
      waiting_(options_.max_waiting_calls, options_.max_waiting_bytes) {}

ServiceCore::~ServiceCore() { stop(); }

void ServiceCore::start() {
  housekeeper_ = std::jthread([this](std::stop_token stop) { housekeeping(std::move(stop)); });
}

void ServiceCore::connect(const std::string& endpoint) {
  if (add_instance(endpoint, {endpoint}, std::string(), false)) return;
  std::lock_guard lock(mutex_);
  if (stopping_) throw PeerStoppedError("connect(" + endpoint + "): the ServiceClient is stopped");
  throw UsageError("cannot connect service '" + service_ + "' to " + endpoint +
                   (set_.find(endpoint) ? ": already connected there"
                                        : ": already at ServiceClientOptions::max_instances (" +
                                              std::to_string(options_.max_instances) + ")"));
}

bool ServiceCore::add_instance(std::string key, std::vector<std::string> endpoints, std::string instance_id,
                               bool discovered) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || set_.find(key) || set_.size() + retiring_.size() >= options_.max_instances) return false;
  }
  auto instance = std::make_shared<Instance>();
  instance->key = std::move(key);
  instance->endpoints = std::move(endpoints);
  instance->endpoint = instance->endpoints.front();
  instance->instance = std::move(instance_id);
  instance->discovered = discovered;
  connect_client(*instance);

  bool added = false;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && !set_.find(instance->key)) {
      set_.add(instance);
      added = true;
      // It may have come up before it was in the set: let the waiting calls look again.
      if (instance->alive.load(std::memory_order_acquire)) instance_came_up_ = true;
      recheck_ = true;  // housekeeping times its next endpoint
    }
  }
  if (!added) {
    instance->close();  // here, not on its own engine thread
    return false;
  }
  changed_.notify_all();
  log(LogLevel::info, "pseud: service '", service_, "': connected to ",
      instance->instance.empty() ? std::string() : "instance '" + instance->instance + "' at ", instance->endpoint);
  return true;
}

void ServiceCore::connect_client(Instance& instance) {
  instance.down_since.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);

  PeerOptions peer = options_.peer;
  peer.parent_registry = &registry_;
  // A call that finds its instance gone (between the pick and the send) fails
  // at once, unsent, and moves on, instead of waiting in a reconnecting pipe.
  peer.fail_fast = true;
  Instance* raw = &instance;  // the client dies first: Instance owns it
  peer.on_peer_joined = [this, raw, user = options_.peer.on_peer_joined](const PeerInfo& info) {
    raw->alive.store(true, std::memory_order_release);
    {
      std::lock_guard lock(mutex_);
      instance_came_up_ = true;
    }
    changed_.notify_all();
    if (user) user(info);
  };
  peer.on_peer_gone = [this, raw, user = options_.peer.on_peer_gone](const PeerInfo& info, const std::string& why) {
    raw->down_since.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    raw->alive.store(false, std::memory_order_release);
    if (raw->endpoints.size() > 1) wake();  // its next endpoint may be due
    if (user) user(info, why);
  };
  peer.configure_socket = [min = options_.reconnect_min, max = options_.reconnect_max,
                           user = options_.peer.configure_socket](zmq::socket_ref socket) {
    socket.set(zmq::sockopt::reconnect_ivl, static_cast<int>(min.count()));
    socket.set(zmq::sockopt::reconnect_ivl_max, static_cast<int>(max.count()));
    if (user) user(socket);
  };
  instance.client = std::make_unique<Client>(service_, peer);
  instance.client->connect(instance.endpoint);  // throws for an endpoint libzmq refuses
}

std::optional<ServiceCore::Clock::time_point> ServiceCore::switch_endpoints(std::unique_lock<std::mutex>& lock) {
  if (options_.endpoint_fallback.count() <= 0) return std::nullopt;
  const auto now = Clock::now();
  std::optional<Clock::time_point> next;
  std::vector<std::shared_ptr<Instance>> due;
  for (const auto& instance : set_.all()) {
    if (instance->endpoints.size() < 2 || instance->alive.load(std::memory_order_acquire)) continue;
    const auto at = Clock::time_point(Clock::duration(instance->down_since.load(std::memory_order_relaxed))) +
                    options_.endpoint_fallback;
    if (at > now) {
      next = next ? std::min(*next, at) : at;
    } else if (instance->outstanding.load(std::memory_order_relaxed) == 0) {
      due.push_back(instance);
    }
  }
  if (due.empty()) return next;
  lock.unlock();
  for (const auto& old : due) {
    // A new Instance at the next endpoint, in the old one's place: an
    // Instance never changes where it is connected, so nothing reads a field as it changes.
    auto moved = std::make_shared<Instance>();
    moved->key = old->key;
    moved->endpoints = old->endpoints;
    moved->endpoint_index = (old->endpoint_index + 1) % old->endpoints.size();
    moved->endpoint = moved->endpoints[moved->endpoint_index];
    moved->instance = old->instance;
    moved->discovered = old->discovered;
    moved->calls.store(old->calls.load(std::memory_order_relaxed), std::memory_order_relaxed);
    try {
      connect_client(*moved);
    } catch (const std::exception& e) {
      log(LogLevel::warning, "pseud: service '", service_, "': cannot connect to instance '", old->instance, "' at ",
          moved->endpoint, ": ", e.what());
      old->down_since.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
      continue;
    }
    bool replaced = false;
    {
      std::lock_guard relock(mutex_);
      // Not if it came up meanwhile, or left (retired, stopped).
      replaced = !stopping_ && !old->alive.load(std::memory_order_acquire) && set_.replace(old, moved);
      if (replaced && moved->alive.load(std::memory_order_acquire)) instance_came_up_ = true;
    }
    if (replaced) {
      log(LogLevel::info, "pseud: service '", service_, "': instance '", old->instance, "' did not answer at ",
          old->endpoint, " for ", options_.endpoint_fallback.count(), " ms; trying ", moved->endpoint);
    }
    (replaced ? old : moved)->close();  // joins its engine: outside the lock
  }
  lock.lock();
  return Clock::now();  // look again at once: the set changed meanwhile
}

void ServiceCore::retire(const std::string& key) {
  {
    std::lock_guard lock(mutex_);
    auto instance = set_.remove(key);
    if (!instance) return;
    instance->alive.store(false, std::memory_order_release);
    instance->retired.store(true, std::memory_order_release);
    log(LogLevel::info, "pseud: service '", service_, "': instance '", instance->instance, "' at ", instance->endpoint,
        " left; its connection closes once its ", instance->outstanding.load(), " calls are answered");
    retiring_.push_back(std::move(instance));
    recheck_ = true;
  }
  changed_.notify_all();
}

void ServiceCore::follow(std::shared_ptr<Discovery> discovery, std::string version_range) {
  if (!discovery) throw UsageError("connect_service: the discovery is null");
  VersionRange range(version_range);
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw PeerStoppedError("connect_service: the ServiceClient is stopped");
    if (discovery_) throw UsageError("connect_service: service '" + service_ + "' already follows a discovery");
    discovery_ = discovery;
    version_range_ = std::move(range);
  }
  auto watch = discovery->watch(service_, [this](const std::vector<InstanceRecord>& records) { on_discovered(records); });
  std::unique_lock lock(mutex_);
  if (stopping_) {
    lock.unlock();
    return;  // `watch` ends here, outside the lock its callback takes
  }
  watch_ = std::move(watch);
}

void ServiceCore::on_discovered(const std::vector<InstanceRecord>& records) {
  // An instance is its id at its first endpoint: one that restarts elsewhere is a new one.
  std::vector<std::pair<std::string, const InstanceRecord*>> wanted;
  for (const InstanceRecord& record : records) {
    if (record.service != service_ || record.endpoints.empty()) continue;
    if (version_range_ && !version_range_->contains(record.version)) continue;
    wanted.emplace_back(record.instance + " at " + record.endpoints.front(), &record);  // the key
  }
  std::vector<std::string> leaving;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    for (const auto& instance : set_.all()) {
      const bool still = std::any_of(wanted.begin(), wanted.end(), [&](const auto& w) { return w.first == instance->key; });
      if (instance->discovered && !still) leaving.push_back(instance->key);
    }
  }
  for (const std::string& key : leaving) retire(key);
  for (const auto& [key, record] : wanted) {
    bool known = false;
    {
      std::lock_guard lock(mutex_);
      known = set_.find(key) != nullptr;
    }
    if (known) continue;
    try {
      if (!add_instance(key, record->endpoints, record->instance, true)) {
        log(LogLevel::warning, "pseud: service '", service_, "': not connecting to instance '", record->instance,
            "' (stopped, or at ServiceClientOptions::max_instances)");
      }
    } catch (const std::exception& e) {
      log(LogLevel::warning, "pseud: service '", service_, "': cannot connect to instance '", record->instance,
          "' at ", record->endpoints.front(), ": ", e.what());
    }
  }
}

void ServiceCore::submit(OutgoingCall call) {
  CallOptions& options = call.options;
  // One deadline for every instance the call may try.
  if (!options.deadline) options.deadline = Clock::now() + options.timeout.value_or(options_.peer.default_timeout);
  options.timeout.reset();
  auto attempt = std::make_shared<CallAttempt>();
  attempt->call = std::move(call);
  if (attempt->call.options.stop.stop_possible()) {
    // Before any lock: a token already stopped runs this at once.
    attempt->on_cancel.emplace(attempt->call.options.stop, std::function<void()>([this] { wake(); }));
  }
  dispatch(std::move(attempt));
}

void ServiceCore::dispatch(std::shared_ptr<CallAttempt> attempt) {
  std::shared_ptr<Instance> instance;
  {
    std::unique_lock lock(mutex_);
    if (stopping_) {
      lock.unlock();
      finish(attempt, nullptr, stopped_error(*attempt));
      return;
    }
    instance = set_.pick(options_.policy, attempt->tried);
    if (!instance) {
      // Wait for an instance that may still come: one not tried yet, or any a discovery may bring.
      const bool may_come = set_.size() == 0 || discovery_ || set_.any_untried(attempt->tried);
      if (may_come && !attempt->call.options.stop.stop_requested() && waiting_.add(attempt)) {
        recheck_ = true;  // its deadline may be the next one
        lock.unlock();
        changed_.notify_all();
        return;
      }
      std::exception_ptr error = attempt->last_error;
      if (attempt->call.options.stop.stop_requested()) {
        error = error_of<CancelledError>("call to '" + attempt->call.function + "' was cancelled");
      } else if (may_come) {
        error = error_of<PeerUnreachableError>(
            "call to '" + attempt->call.function + "': " + std::to_string(waiting_.size()) +
            " calls already wait for a live instance of service '" + service_ +
            "' (ServiceClientOptions::max_waiting_calls and max_waiting_bytes); nothing was sent");
      } else if (!error) {
        error = no_instance_error(*attempt, false);
      }
      lock.unlock();
      finish(attempt, nullptr, std::move(error));
      return;
    }
    instance->outstanding.fetch_add(1, std::memory_order_relaxed);
    instance->calls.fetch_add(1, std::memory_order_relaxed);
  }
  // Each attempt sends a copy: the original stays to be sent elsewhere.
  WireBuffer body(std::max<std::size_t>(attempt->call.body.size(), 1));
  body.write(attempt->call.body.data(), attempt->call.body.size());
  OutgoingCall copy{attempt->call.destination, attempt->call.function, std::move(body), attempt->call.options, {}};
  copy.on_reply = [self = shared_from_this(), attempt, instance](msgpack::object_handle* reply,
                                                                 std::exception_ptr error) {
    self->attempt_done(attempt, instance, reply, std::move(error));
  };
  std::shared_lock lock(instance->client_mutex);
  if (instance->client) {
    PeerAccess::submit(*instance->client, std::move(copy));
  } else {  // closed by stop() since it was picked
    lock.unlock();
    copy.on_reply(nullptr, stopped_error(*attempt));
  }
}

void ServiceCore::attempt_done(const std::shared_ptr<CallAttempt>& attempt, const std::shared_ptr<Instance>& instance,
                               msgpack::object_handle* reply, std::exception_ptr error) {
  if (instance->outstanding.fetch_sub(1, std::memory_order_relaxed) == 1 &&
      instance->retired.load(std::memory_order_acquire)) {
    wake();  // its connection may close now
  }
  if (!error) return finish(attempt, reply, nullptr);
  {
    std::lock_guard lock(mutex_);
    if (stopping_) error = stopped_error(*attempt);
  }
  // Out of the picks now: its client says so too, but only after failing its calls.
  if (instance_lost(error)) instance->alive.store(false, std::memory_order_release);
  switch (after_attempt(error, attempt->call.options.idempotent)) {
    case AfterAttempt::finish:
      return finish(attempt, nullptr, std::move(error));
    case AfterAttempt::try_another: {
      std::lock_guard lock(mutex_);  // read under it by no_instance_error
      attempt->tried.push_back(instance->key);
      attempt->last_error = std::move(error);
    }
      return dispatch(attempt);
    case AfterAttempt::outcome_unknown:
      return finish(attempt, nullptr,
                    error_of<OutcomeUnknownError>(
                        "call to '" + attempt->call.function + "' on service '" + service_ + "' at " +
                        instance->endpoint + " may have run: " + what_of(error) +
                        ". It was not sent to another instance; mark the call CallOptions{.idempotent = true} if "
                        "running it twice does no harm"));
  }
}

void ServiceCore::finish(const std::shared_ptr<CallAttempt>& attempt, msgpack::object_handle* reply,
                         std::exception_ptr error) {
  attempt->on_cancel.reset();
  ReplyHandler done = std::move(attempt->call.on_reply);
  if (done) done(reply, std::move(error));
}

std::exception_ptr ServiceCore::stopped_error(const CallAttempt& attempt) const {
  return error_of<PeerStoppedError>("call to '" + attempt.call.function + "': the ServiceClient of '" + service_ +
                                    "' is stopped");
}

std::exception_ptr ServiceCore::no_instance_error(const CallAttempt& attempt, bool timed_out) const {
  std::size_t live = 0;
  for (const auto& instance : set_.all()) live += instance->alive.load(std::memory_order_relaxed) ? 1 : 0;
  std::string text = "call to '" + attempt.call.function + "': ";
  if (set_.size() == 0) {
    text += "no instance of service '" + service_ + "' is connected" +
            (discovery_ ? " (the discovery lists none)" : " (call connect() or connect_service() first)");
  } else {
    text += "no live instance of service '" + service_ + "' could take it (" + std::to_string(set_.size()) +
            " known, " + std::to_string(live) + " live)";
  }
  if (attempt.last_error) text += "; last failure: " + what_of(attempt.last_error);
  if (timed_out) return error_of<TimeoutError>(text + "; the call's deadline passed");
  return error_of<PeerUnreachableError>(text + "; nothing was sent");
}

void ServiceCore::wake() {
  {
    std::lock_guard lock(mutex_);
    recheck_ = true;
  }
  changed_.notify_all();
}

void ServiceCore::housekeeping(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    recheck_ = false;
    const auto now = Clock::now();
    auto due = waiting_.take_due(now);
    std::vector<std::shared_ptr<CallAttempt>> go;
    if (std::exchange(instance_came_up_, false)) go = waiting_.take_all();
    std::vector<std::shared_ptr<Instance>> closing;
    std::erase_if(retiring_, [&](std::shared_ptr<Instance>& instance) {
      if (instance->outstanding.load(std::memory_order_relaxed) != 0) return false;
      closing.push_back(std::move(instance));
      return true;
    });
    if (!due.empty() || !go.empty() || !closing.empty()) {
      std::vector<std::exception_ptr> errors;
      for (const auto& attempt : due) {
        errors.push_back(attempt->call.options.stop.stop_requested()
                             ? error_of<CancelledError>("call to '" + attempt->call.function + "' was cancelled")
                             : no_instance_error(*attempt, true));
      }
      lock.unlock();
      for (std::size_t i = 0; i < due.size(); ++i) finish(due[i], nullptr, errors[i]);
      for (auto& attempt : go) dispatch(std::move(attempt));
      for (const auto& instance : closing) instance->close();  // joins its engine: never under the lock
      closing.clear();
      lock.lock();
      continue;
    }
    auto next = switch_endpoints(lock);
    if (stop.stop_requested()) break;
    if (const auto deadline = waiting_.next_deadline()) next = next ? std::min(*next, *deadline) : *deadline;
    const auto ready = [&] { return instance_came_up_ || recheck_; };
    if (next) {
      changed_.wait_until(lock, stop, *next, ready);
    } else {
      changed_.wait(lock, stop, ready);
    }
  }
}

std::size_t ServiceCore::wait_for_alive(std::size_t count, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  std::unique_lock lock(mutex_);
  // An instance that comes up stores `alive`, then takes mutex_ and notifies changed_.
  changed_.wait_until(lock, deadline, [&] { return stopping_ || set_.alive_count() >= count; });
  return set_.alive_count();
}

std::vector<InstanceStatus> ServiceCore::instances() const {
  std::vector<std::shared_ptr<Instance>> all;
  {
    std::lock_guard lock(mutex_);
    all = set_.all();
  }
  std::vector<InstanceStatus> statuses;
  statuses.reserve(all.size());
  for (const auto& instance : all) {
    InstanceStatus status;
    status.endpoint = instance->endpoint;
    status.instance = instance->instance;
    status.alive = instance->alive.load(std::memory_order_relaxed);
    status.outstanding = instance->outstanding.load(std::memory_order_relaxed);
    status.calls = instance->calls.load(std::memory_order_relaxed);
    std::shared_lock client_lock(instance->client_mutex);
    if (instance->client) {
      for (const PeerInfo& peer : instance->client->connected_peers()) {
        status.routing_id = peer.announced_routing_id;
        if (status.instance.empty()) status.instance = instance_of(peer.announced_routing_id, service_);
      }
    }
    statuses.push_back(std::move(status));
  }
  return statuses;
}

void ServiceCore::stop() {
  std::unique_ptr<Watch> watch;
  std::vector<std::shared_ptr<Instance>> instances;
  std::vector<std::shared_ptr<CallAttempt>> waiting;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !housekeeper_.joinable()) return;
    stopping_ = true;
    watch = std::move(watch_);
    instances = set_.take_all();
    for (auto& instance : retiring_) instances.push_back(std::move(instance));
    retiring_.clear();
    waiting = waiting_.take_all();
  }
  changed_.notify_all();  // a wait_for_alive returns
  watch.reset();  // waits for a running callback, which sees stopping_
  housekeeper_.request_stop();
  if (housekeeper_.joinable()) housekeeper_.join();
  for (const auto& attempt : waiting) {
    finish(attempt, nullptr, stopped_error(*attempt));
  }
  // Each client's pending calls fail with PeerStoppedError as it stops; the
  // instances are still held here, so no engine thread destroys its own client.
  for (const auto& instance : instances) instance->close();
}

}  // namespace pseud::detail
