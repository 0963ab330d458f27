#pragma once
// Layer 7 (discovery): a thread that keeps a key prefix's current contents
// from etcd: a range, then a watch stream from the range's revision + 1;
// when etcd cannot be reached it keeps what it had, logs once, and starts
// again every retry_interval.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "discovery/etcd_api.hpp"

namespace pseud::detail::discovery {

class EtcdWatchLoop {
 public:
  using Contents = std::map<std::string, std::string>;  // key -> value

  struct Handler {
    /// The prefix's contents after a range or a batch of events, and the
    /// revision they are from. On the loop's thread.
    std::function<void(const Contents&, std::int64_t revision)> on_contents;
    /// The stream broke or etcd cannot be reached (once per failure). Optional.
    std::function<void()> on_lost;
  };

  /// Starts the thread. `what` names the watch in log lines.
  EtcdWatchLoop(std::shared_ptr<const EtcdApi> api, std::string prefix, std::string what, Handler handler);
  /// Stops the thread within ~50 ms, waiting for a running handler (unless
  /// called from it: then the thread ends when the handler returns).
  ~EtcdWatchLoop();
  EtcdWatchLoop(const EtcdWatchLoop&) = delete;
  EtcdWatchLoop& operator=(const EtcdWatchLoop&) = delete;

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace pseud::detail::discovery
