// Layer 7 (discovery): range, then watch, then again after a failure.
#include "discovery/etcd_watch_loop.hpp"

#include "discovery/limits.hpp"
#include "discovery/stop_signal.hpp"
#include "log.hpp"

namespace pseud::detail::discovery {

struct EtcdWatchLoop::State {
  std::shared_ptr<const EtcdApi> api;
  std::string prefix;
  std::string what;
  Handler handler;
  StopSignal stop;

  void run() {
    bool failing = false;
    Contents contents;
    while (!stop.stopped()) {
      std::string failure;
      try {
        const RangeAnswer range = api->range_prefix(prefix, max_records_read, request_timeout, &stop.flag());
        if (range.truncated) {
          log(LogLevel::warning, "discovery: ", what, " at etcd ", api->address(), " has more than ", max_records_read,
              " keys; the rest are left out");
        }
        contents.clear();
        for (const auto& pair : range.pairs) contents[pair.key] = pair.value;
        if (failing) {
          log(LogLevel::info, "discovery: etcd at ", api->address(), " can be reached again; ", what, " goes on");
          failing = false;
        }
        handler.on_contents(contents, range.revision);
        api->watch_prefix(prefix, range.revision + 1, [&](const WatchBatch& batch) { apply(contents, batch); },
                          stop.flag());
      } catch (const EtcdError& e) {
        failure = e.what();
      } catch (const std::exception& e) {
        failure = e.what();
      }
      if (stop.stopped()) return;
      if (!failing) {
        log(LogLevel::warning, "discovery: ", what, " lost etcd at ", api->address(), ": ", failure,
            "; keeping the last set and trying again every ", retry_interval.count(), " ms");
        failing = true;
      }
      if (handler.on_lost) handler.on_lost();
      stop.wait_for(retry_interval);
    }
  }

  void apply(Contents& contents, const WatchBatch& batch) {
    for (const auto& event : batch.events) {
      if (event.deleted) {
        contents.erase(event.pair.key);
      } else if (contents.size() < max_records_read || contents.count(event.pair.key) != 0) {
        contents[event.pair.key] = event.pair.value;
      } else {
        log(LogLevel::warning, "discovery: ", what, " at etcd ", api->address(), " has more than ", max_records_read,
            " keys; a new one is left out");
      }
    }
    handler.on_contents(contents, batch.revision);
  }
};

EtcdWatchLoop::EtcdWatchLoop(std::shared_ptr<const EtcdApi> api, std::string prefix, std::string what,
                             Handler handler)
    : state_(std::make_shared<State>()) {
  state_->api = std::move(api);
  state_->prefix = std::move(prefix);
  state_->what = std::move(what);
  state_->handler = std::move(handler);
  thread_ = std::thread([state = state_] { state->run(); });
}

EtcdWatchLoop::~EtcdWatchLoop() {
  state_->stop.stop();
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();  // destroyed from its own handler: the thread ends when it returns
  } else {
    thread_.join();
  }
}

}  // namespace pseud::detail::discovery
