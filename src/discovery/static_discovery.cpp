// Layer 7 (discovery): the in-process backend: one table shared by its
// holders, registrations and watches see each other at once.
#include "discovery/static_discovery.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "discovery/record_check.hpp"
#include "discovery/watch_notifier.hpp"
#include "pseud/errors.hpp"

namespace pseud {
namespace detail::discovery {

namespace {

struct Entry {
  InstanceRecord record;
  std::uint64_t owner = 0;  // the registration that published it
};

// The shared table. Lock order: Table::mutex, then a notifier's own.
struct Table {
  explicit Table(const StaticLimits& l) : limits(l) {}

  StaticLimits limits;
  std::mutex mutex;
  std::map<std::string, std::map<std::string, Entry>, std::less<>> services;
  std::size_t total = 0;
  std::multimap<std::string, WatchNotifier*, std::less<>> watches;
  std::uint64_t next_owner = 1;

  std::vector<InstanceRecord> records_of(std::string_view service) {
    std::lock_guard lock(mutex);
    std::vector<InstanceRecord> out;
    if (const auto it = services.find(service); it != services.end()) {
      out.reserve(it->second.size());
      for (const auto& [name, entry] : it->second) out.push_back(entry.record);
    }
    return out;
  }

  std::vector<InstanceRecord> all_records() {
    std::lock_guard lock(mutex);
    std::vector<InstanceRecord> out;
    for (const auto& [service, entries] : services) {
      for (const auto& [name, entry] : entries) out.push_back(entry.record);
    }
    return out;
  }

  // Under `mutex`.
  void poke_watchers(std::string_view service) {
    const auto [first, last] = watches.equal_range(service);
    for (auto it = first; it != last; ++it) {
      if (it->second != nullptr) it->second->poke();
    }
  }
};

class StaticRegistration final : public Registration {
 public:
  StaticRegistration(std::shared_ptr<Table> table, std::string service, std::string instance, std::uint64_t owner)
      : table_(std::move(table)), service_(std::move(service)), instance_(std::move(instance)), owner_(owner) {}
  ~StaticRegistration() override { withdraw(); }

  void withdraw() override {
    std::lock_guard lock(table_->mutex);
    if (withdrawn_) return;
    withdrawn_ = true;
    const auto service = table_->services.find(service_);
    if (service == table_->services.end()) return;
    const auto entry = service->second.find(instance_);
    if (entry == service->second.end() || entry->second.owner != owner_) return;  // replaced since
    service->second.erase(entry);
    --table_->total;
    if (service->second.empty()) table_->services.erase(service);
    table_->poke_watchers(service_);
  }

 private:
  std::shared_ptr<Table> table_;
  std::string service_;
  std::string instance_;
  std::uint64_t owner_;
  bool withdrawn_ = false;  // under table_->mutex
};

class StaticWatch final : public Watch {
 public:
  StaticWatch(std::shared_ptr<Table> table, std::string service, WatchNotifier::Callback on_change)
      : table_(std::move(table)) {
    {
      std::lock_guard lock(table_->mutex);
      if (table_->watches.size() >= table_->limits.watches) {
        throw UsageError("discovery: the static table already has " + std::to_string(table_->limits.watches) +
                         " watches, its limit; destroy some first");
      }
      slot_ = table_->watches.emplace(service, nullptr);  // holds the place; not poked yet
    }
    try {
      notifier_ = std::make_unique<WatchNotifier>(
          [table = table_, service] { return table->records_of(service); }, std::move(on_change));
    } catch (...) {
      std::lock_guard lock(table_->mutex);
      table_->watches.erase(slot_);
      throw;
    }
    std::lock_guard lock(table_->mutex);
    slot_->second = notifier_.get();
    notifier_->poke();  // a change made before the slot was filled
  }
  ~StaticWatch() override {
    {
      std::lock_guard lock(table_->mutex);
      table_->watches.erase(slot_);
    }
    notifier_.reset();  // no one pokes it any more; waits for a running callback
  }

 private:
  std::shared_ptr<Table> table_;
  std::unique_ptr<WatchNotifier> notifier_;
  std::multimap<std::string, WatchNotifier*, std::less<>>::iterator slot_;
};

class StaticDiscovery final : public Discovery {
 public:
  explicit StaticDiscovery(const StaticLimits& limits) : table_(std::make_shared<Table>(limits)) {}

  std::unique_ptr<Registration> register_instance(InstanceRecord record, RegistrationOptions) override {
    check_publishable(record);
    std::lock_guard lock(table_->mutex);
    auto& instances = table_->services[record.service];
    const bool replaces = instances.count(record.instance) != 0;
    if (!replaces) {
      if (instances.size() >= table_->limits.records_per_service) {
        if (instances.empty()) table_->services.erase(record.service);
        throw UsageError("discovery: the service '" + record.service + "' already has " +
                         std::to_string(table_->limits.records_per_service) +
                         " instances, the most the static table holds for one service; withdraw some first");
      }
      if (table_->total >= table_->limits.records_total) {
        if (instances.empty()) table_->services.erase(record.service);
        throw UsageError("discovery: the static table already holds " + std::to_string(table_->limits.records_total) +
                         " instances, its limit; withdraw some first");
      }
      ++table_->total;
    }
    const std::uint64_t owner = table_->next_owner++;
    std::string service = record.service;
    std::string instance = record.instance;
    instances[instance] = Entry{std::move(record), owner};
    table_->poke_watchers(service);
    return std::make_unique<StaticRegistration>(table_, std::move(service), std::move(instance), owner);
  }

  std::vector<InstanceRecord> lookup(std::string_view service) override { return table_->records_of(service); }
  std::vector<InstanceRecord> lookup_all() override { return table_->all_records(); }

  std::unique_ptr<Watch> watch(std::string service,
                               std::function<void(const std::vector<InstanceRecord>&)> on_change) override {
    if (!on_change) throw UsageError("discovery: watch('" + service + "') needs a callback");
    return std::make_unique<StaticWatch>(table_, std::move(service), std::move(on_change));
  }

 private:
  std::shared_ptr<Table> table_;
};

}  // namespace

std::shared_ptr<Discovery> make_static_discovery(const StaticLimits& limits) {
  return std::make_shared<StaticDiscovery>(limits);
}

}  // namespace detail::discovery

std::shared_ptr<Discovery> make_static_discovery() { return detail::discovery::make_static_discovery({}); }

}  // namespace pseud
