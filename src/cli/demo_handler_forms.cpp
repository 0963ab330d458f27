// Demo functions that show the handler forms a caller cannot otherwise
// provoke: answers through a pseud::ReplyChannel (later, ack, nack, dropped)
// and declared versus undeclared exceptions; and a coroutine handler.

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "cli/demo_functions.hpp"
#include "cli/demo_timer.hpp"

namespace pseud::cli {

void register_handler_form_demos(Peer& peer) {
  // One timer thread per peer, owned by the handler: it stops with the registration.
  auto deferred = std::make_shared<DeferredReplies>();
  peer.register_rpc(
      "deferred_echo",
      [deferred](ReplyChannel channel, const msgpack::object& value, std::int64_t delay_ms) {
        if (delay_ms < 0 || delay_ms > max_deferred_delay_ms) {
          throw std::invalid_argument("deferred_echo: delay_ms must be 0.." + std::to_string(max_deferred_delay_ms));
        }
        deferred->schedule(std::move(channel), value, std::chrono::milliseconds(delay_ms));
      },
      {.params = {"value", "delay_ms"},
       .doc = "Replies value after delay_ms (at most 60000) from a timer thread, through a ReplyChannel."});
  peer.register_rpc("ack_only", [](ReplyChannel channel) { channel.ack(); },
                    {.doc = "Acks through its ReplyChannel: the caller gets nil."});
  peer.register_rpc("nack_me", [](ReplyChannel channel) { channel.nack(); },
                    {.doc = "Nacks through its ReplyChannel: the caller gets the error Nack."});
  peer.register_rpc("drop_channel", [](ReplyChannel) {},
                    {.doc = "Drops its ReplyChannel unanswered: the caller gets Nack at once."});
  peer.register_rpc("declared_error", [](const std::string& message) -> void { throw std::invalid_argument(message); },
                    {.params = {"message"},
                     .doc = "Raises ValueError(message), a declared exception: the caller gets it.",
                     .raises = {raises<std::invalid_argument>("ValueError")}});
  peer.register_rpc("undeclared_error", [](const std::string& message) -> void { throw std::runtime_error(message); },
                    {.params = {"message"},
                     .doc = "Raises an exception it does not declare: the caller gets Nack, never the message.",
                     .raises = {raises<std::invalid_argument>("ValueError")}});
  register_relay_demo(peer);
}

}  // namespace pseud::cli
