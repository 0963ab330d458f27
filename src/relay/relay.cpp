// Layer 7 (relay): a server's catch-all route that passes calls upstream
// (relay.hpp): unchanged both ways in pass-through, through the upstream
// client's outbox in store-and-forward.

#include "pseud/relay.hpp"

#include <atomic>
#include <functional>

#include "engine/engine_util.hpp"
#include "log.hpp"
#include "pseud/errors.hpp"

namespace pseud {

namespace detail {

class RelayCore : public std::enable_shared_from_this<RelayCore> {
 public:
  using Callback = std::function<void(Result<msgpack::object_handle>)>;
  // Sends a call upstream; `done` runs once with its outcome.
  using Forward = std::function<void(std::string_view name, const Args&, const Kwargs&, CallOptions, Callback done)>;
  // Queues a call upstream as a notification; false or a throw when refused.
  using Notify = std::function<bool(std::string_view name, const Args&, const Kwargs&)>;

  RelayCore(RelayOptions options, std::string upstream, Forward forward, Notify notify)
      : options_(std::move(options)), upstream_(std::move(upstream)), forward_(std::move(forward)),
        notify_(std::move(notify)) {}

  void relay(const Invocation& call) {
    const Args args(std::span<const msgpack::object>(call.args, call.arg_count));
    Kwargs kwargs;
    for (std::uint32_t i = 0; i < call.kwarg_count; ++i) {
      const msgpack::object& key = call.kwargs[i].key;
      // Python callers send str keys; anything else cannot be a keyword upstream either.
      if (key.type != msgpack::type::STR) throw RemoteError("TypeError", "keywords must be strings");
      kwargs.add(std::string_view(key.via.str.ptr, key.via.str.size), call.kwargs[i].val);
    }
    const std::string caller = printable(call.caller->identity());  // as the engine logs peers
    if (options_.mode == RelayMode::store_and_forward) return store(call, args, kwargs, caller);
    auto channel = std::make_shared<ReplyChannel>(call.replies->open());
    forwarded_.fetch_add(1);
    log(LogLevel::info, "pseud relay: '", caller, "' -> ", upstream_, ": ", call.name);
    forward_(call.name, args, kwargs, CallOptions{.timeout = options_.timeout},
             [self = shared_from_this(), channel, name = std::string(call.name)](Result<msgpack::object_handle> result) {
               self->answer(*channel, name, std::move(result));
             });
  }

  RelayStats stats() const {
    return RelayStats{forwarded_.load(), answered_.load(), failed_.load(), accepted_.load(), refused_.load()};
  }

 private:
  void store(const Invocation& call, const Args& args, const Kwargs& kwargs, const std::string& caller) {
    bool queued = false;
    std::string why = "the relay's outbox for " + upstream_ + " is full";
    try {
      queued = notify_(call.name, args, kwargs);
    } catch (const OutboxFullError& e) {
      why = e.what();
    }
    if (!queued) {
      refused_.fetch_add(1);
      log(LogLevel::warning, "pseud relay: refused '", caller, "' -> ", upstream_, ": ", call.name, ": ", why);
      throw OverloadedError(why);  // the caller hears it: never dropped silently
    }
    accepted_.fetch_add(1);
    log(LogLevel::info, "pseud relay: accepted '", caller, "' -> ", upstream_, ": ", call.name);
    ReplyChannel channel = call.replies->open();
    channel.reply(std::string("accepted"));
  }

  void answer(ReplyChannel& channel, const std::string& name, Result<msgpack::object_handle> result) {
    // Counted before the answer leaves: whoever reads the stats after the reply sees it.
    if (result.ok()) {
      answered_.fetch_add(1);
      channel.reply(result.get().get());
      return;
    }
    std::string error_class = "RelayError", message;
    try {
      std::rethrow_exception(result.error());
    } catch (const RemoteError& e) {
      answered_.fetch_add(1);  // the upstream's own ERROR, passed on unchanged
      channel.error(e.name(), e.message(), e.traceback());
      return;
    } catch (const TimeoutError& e) {
      error_class = "TimeoutError";
      message = "relay: " + upstream_ + " did not answer '" + name + "' in time: " + e.what();
    } catch (const HandshakeError& e) {
      error_class = "UnavailableError";
      message = "relay: " + upstream_ + " refused the relay's credentials: " + e.what();
    } catch (const PeerGoneError& e) {
      error_class = "OutcomeUnknownError";
      message = "relay: " + upstream_ + " was lost while '" + name + "' was in its hands (it may have run): " + e.what();
    } catch (const PeerUnreachableError& e) {
      error_class = "UnavailableError";
      message = "relay: " + upstream_ + " is unreachable (the call was not sent): " + e.what();
    } catch (const std::exception& e) {
      message = std::string("relay: ") + e.what();
    }
    failed_.fetch_add(1);
    channel.error(error_class, message);
  }

  const RelayOptions options_;
  const std::string upstream_;
  const Forward forward_;
  const Notify notify_;
  std::atomic<std::uint64_t> forwarded_{0}, answered_{0}, failed_{0}, accepted_{0}, refused_{0};
};

}  // namespace detail

namespace {

Route catch_all(const std::shared_ptr<detail::RelayCore>& core, const RelayOptions& options, const std::string& upstream) {
  std::weak_ptr<detail::RelayCore> weak = core;
  Route route;
  route.name = std::string(any_function);
  route.domain = options.domain;
  route.doc = "Relays every other call to " + upstream + ".";
  route.handler = [weak](const detail::Invocation& call, detail::Packer&) {
    auto relay = weak.lock();
    if (!relay) throw UnavailableError("the relay is stopped");
    relay->relay(call);
  };
  return route;
}

}  // namespace

Relay::Relay(Server& listener, Client& upstream, RelayOptions options) : listener_(&listener), domain_(options.domain) {
  Client* client = &upstream;
  core_ = std::make_shared<detail::RelayCore>(
      options, "'" + upstream.server_name() + "'",
      [client](std::string_view name, const Args& args, const Kwargs& kwargs, CallOptions call_options,
               detail::RelayCore::Callback done) {
        client->server().async_call<msgpack::object_handle>(std::move(done), name, args, kwargs, call_options);
      },
      [client](std::string_view name, const Args& args, const Kwargs& kwargs) {
        return client->notify(name, args, kwargs);
      });
  listener.registry().add_route(catch_all(core_, options, upstream.server_name()));
}

Relay::Relay(Server& listener, ServiceClient& upstream, RelayOptions options)
    : listener_(&listener), domain_(options.domain) {
  if (options.mode == RelayMode::store_and_forward) {
    throw UsageError("Relay: store_and_forward needs a Client upstream (its outbox keeps what waits)");
  }
  ServiceClient* service = &upstream;
  core_ = std::make_shared<detail::RelayCore>(
      options, "service '" + upstream.service() + "'",
      [service](std::string_view name, const Args& args, const Kwargs& kwargs, CallOptions call_options,
                detail::RelayCore::Callback done) {
        service->async_call<msgpack::object_handle>(std::move(done), name, args, kwargs, call_options);
      },
      nullptr);
  listener.registry().add_route(catch_all(core_, options, upstream.service()));
}

Relay::~Relay() { listener_->registry().unregister_rpc(any_function, domain_); }

RelayStats Relay::stats() const { return core_->stats(); }

}  // namespace pseud
