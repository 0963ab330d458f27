#pragma once
/// Handlers that answer later, or answer in a way of their choosing (lymph's
/// raw_rpc channel). A handler whose first parameter is a pseud::ReplyChannel
/// returns void and answers through the channel, now or later, from any
/// thread:
///
///   server.register_rpc("slow_echo", [](pseud::ReplyChannel channel, std::string text) {
///     std::thread([channel = std::move(channel), text]() mutable { channel.reply(text); }).detach();
///   });
///
/// Exactly one answer reaches the wire: the first of reply(), ack(), nack()
/// and error(). Later ones are dropped and counted (PeerStats::late_replies),
/// except those made with `unless_reply_sent`, which exist to be dropped.
/// A channel whose owner drops it unanswered nacks at once: the caller gets
/// pseud::Nack rather than waiting for its timeout. If the handler throws
/// before the channel answered, the exception is the answer, as for any
/// handler. Open channels count against their caller's request budget
/// (PeerOptions::max_requests_per_peer): over it, the call is refused with
/// OverloadedError before the handler keeps the channel.

#include <exception>
#include <memory>
#include <string_view>

#include <msgpack.hpp>

#include "pseud/caller.hpp"
#include "pseud/detail/wire_buffer.hpp"

namespace pseud {

namespace detail {
class ReplyState;
}  // namespace detail

class ReplyChannel {
 public:
  explicit ReplyChannel(std::shared_ptr<detail::ReplyState> state) noexcept;
  ReplyChannel(ReplyChannel&& other) noexcept = default;
  /// Drops the channel this one held first (a nack if it was unanswered).
  ReplyChannel& operator=(ReplyChannel&& other) noexcept;
  ReplyChannel(const ReplyChannel&) = delete;
  ReplyChannel& operator=(const ReplyChannel&) = delete;
  /// Unanswered: nacks.
  ~ReplyChannel();

  /// Answers OK with `value`. False (and nothing sent) when the call was answered already.
  template <class T>
  bool reply(const T& value) {
    detail::WireBuffer body;
    msgpack::pack(body, value);
    return answer_ok(std::move(body), false);
  }
  /// Answers OK with nil. With `unless_reply_sent`, only if nothing was sent yet.
  bool ack(bool unless_reply_sent = false);
  /// Answers ERROR ["Nack", "", ""]: the caller gets pseud::Nack. With
  /// `unless_reply_sent`, only if nothing was sent yet.
  bool nack(bool unless_reply_sent = false);
  /// Answers ERROR [name, message, traceback]: the caller gets a RemoteError of that name.
  bool error(std::string_view name, std::string_view message, std::string_view traceback = {});
  /// Answers as if the handler had thrown `error` (e.g. std::current_exception()
  /// in a worker's catch): an exception the function declares (RpcOptions::raises)
  /// by name, any other as its contract says, PeerOptions::on_handler_error
  /// told of those not in it. Runs that hook on this thread.
  bool fail(std::exception_ptr error);

  /// True once an answer was sent (by this channel or for it).
  bool replied() const noexcept;
  /// Who made the call.
  const Caller& caller() const noexcept;

 private:
  bool answer_ok(detail::WireBuffer&& body, bool unless_reply_sent);

  std::shared_ptr<detail::ReplyState> state_;
};

}  // namespace pseud
