#include "service/instance_set.hpp"

#include <algorithm>

#include "pseud/peer.hpp"

namespace pseud::detail {

namespace {

bool was_tried(const std::vector<std::string>& tried, const std::string& key) {
  return std::find(tried.begin(), tried.end(), key) != tried.end();
}

}  // namespace

Instance::Instance() = default;
Instance::~Instance() = default;

void Instance::close() {
  std::unique_ptr<Client> closing;
  {
    std::unique_lock lock(client_mutex);
    closing = std::move(client);
  }
}

std::shared_ptr<Instance> InstanceSet::pick(Policy policy, const std::vector<std::string>& tried) {
  const std::size_t count = instances_.size();
  auto usable = [&](const std::shared_ptr<Instance>& instance) {
    return instance->alive.load(std::memory_order_acquire) && !was_tried(tried, instance->key);
  };
  switch (policy) {
    case Policy::first_alive:
      for (const auto& instance : instances_) {
        if (usable(instance)) return instance;
      }
      return nullptr;
    case Policy::least_outstanding: {
      // Ties go round: equal loads (an idle service) spread like round robin.
      std::shared_ptr<Instance> best;
      std::size_t best_at = 0;
      for (std::size_t step = 0; step < count; ++step) {
        const std::size_t at = (cursor_ + step) % count;
        const auto& instance = instances_[at];
        if (!usable(instance)) continue;
        if (!best || instance->outstanding.load(std::memory_order_relaxed) <
                         best->outstanding.load(std::memory_order_relaxed)) {
          best = instance;
          best_at = at;
        }
      }
      if (best) cursor_ = best_at + 1;
      return best;
    }
    case Policy::round_robin:
      break;
  }
  for (std::size_t step = 0; step < count; ++step) {
    const std::size_t at = (cursor_ + step) % count;
    if (usable(instances_[at])) {
      cursor_ = at + 1;
      return instances_[at];
    }
  }
  return nullptr;
}

bool InstanceSet::any_untried(const std::vector<std::string>& tried) const {
  return std::any_of(instances_.begin(), instances_.end(),
                     [&](const auto& instance) { return !was_tried(tried, instance->key); });
}

bool InstanceSet::replace(const std::shared_ptr<Instance>& old, std::shared_ptr<Instance> replacement) {
  const auto it = std::find(instances_.begin(), instances_.end(), old);
  if (it == instances_.end()) return false;
  *it = std::move(replacement);
  return true;
}

std::shared_ptr<Instance> InstanceSet::remove(const std::string& key) {
  const auto it = std::find_if(instances_.begin(), instances_.end(), [&](const auto& i) { return i->key == key; });
  if (it == instances_.end()) return nullptr;
  auto instance = std::move(*it);
  instances_.erase(it);
  return instance;
}

const Instance* InstanceSet::find(const std::string& key) const {
  const auto it = std::find_if(instances_.begin(), instances_.end(), [&](const auto& i) { return i->key == key; });
  return it == instances_.end() ? nullptr : it->get();
}

std::size_t InstanceSet::alive_count() const noexcept {
  return static_cast<std::size_t>(std::count_if(instances_.begin(), instances_.end(), [](const auto& i) {
    return i->alive.load(std::memory_order_acquire);
  }));
}

}  // namespace pseud::detail
