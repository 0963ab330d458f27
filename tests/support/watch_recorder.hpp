#pragma once
// What a discovery watch delivers, kept for a test to wait on and check:
// every set, when the last came, on which thread, and how many were empty.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pseud/discovery.hpp"

namespace pseud::test {

/// The instance ids in `records`.
inline std::set<std::string> instance_ids(const std::vector<InstanceRecord>& records) {
  std::set<std::string> ids;
  for (const auto& record : records) ids.insert(record.instance);
  return ids;
}

class WatchRecorder {
 public:
  using Clock = std::chrono::steady_clock;

  /// The callback to give Discovery::watch (the recorder must outlive the watch).
  auto callback() {
    return [this](const std::vector<InstanceRecord>& set) {
      std::lock_guard lock(mutex_);
      sets_.push_back(set);
      last_change_ = Clock::now();
      thread_ = std::this_thread::get_id();
      if (set.empty()) ++empty_calls_;
      changed_.notify_all();
    };
  }

  /// Waits (at most `limit`) until the last delivered set holds exactly the instances `ids`.
  bool wait_for(const std::set<std::string>& ids, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return !sets_.empty() && instance_ids(sets_.back()) == ids; });
  }
  /// Waits (at most `limit`) until the last delivered set has `count` records.
  bool wait_for_count(std::size_t count, std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return !sets_.empty() && sets_.back().size() == count; });
  }

  std::size_t calls() {
    std::lock_guard lock(mutex_);
    return sets_.size();
  }
  std::size_t empty_calls() {
    std::lock_guard lock(mutex_);
    return empty_calls_;
  }
  std::vector<InstanceRecord> last() {
    std::lock_guard lock(mutex_);
    return sets_.empty() ? std::vector<InstanceRecord>{} : sets_.back();
  }
  /// When the last set was delivered.
  Clock::time_point last_change() {
    std::lock_guard lock(mutex_);
    return last_change_;
  }
  /// The thread that delivered the last set.
  std::thread::id thread() {
    std::lock_guard lock(mutex_);
    return thread_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::vector<InstanceRecord>> sets_;
  std::size_t empty_calls_ = 0;
  Clock::time_point last_change_;
  std::thread::id thread_;
};

}  // namespace pseud::test
