#pragma once
// Layer 4 (engine): small helpers shared by the engine's source files.

#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include <msgpack.hpp>
#include <zmq.hpp>

#include "log.hpp"
#include "pseud/detail/outgoing_call.hpp"
#include "sanitizers/libzmq_handoff.hpp"

namespace pseud::detail {

/// A body as a zmq message. Small bodies are copied: a message of up to 33
/// bytes lives inside the zmq_msg_t itself, and either way the buffer (8 KiB
/// as packed) is freed on this thread instead of by libzmq's I/O thread,
/// whose frees contend for this thread's malloc arena. Large bodies are
/// handed over without copying.
inline zmq::message_t to_message(pseud::detail::WireBuffer&& buffer) {
  constexpr std::size_t copy_limit = 4096;
  const std::size_t size = buffer.size();
  if (size <= copy_limit) return zmq::message_t(buffer.data(), size);
  char* data = buffer.release();
  return zmq::message_t(
      data, size,
      [](void* bytes, void*) {
        before_freeing_a_sent_buffer();
        std::free(bytes);
      },
      nullptr);
}

/// The ERROR class of a request refused unrun for its caller's budget (OverloadedError).
inline constexpr std::string_view overloaded_error_name = "OverloadedError";
/// The ERROR class of a request refused unrun because the peer is stopping (UnavailableError).
inline constexpr std::string_view unavailable_error_name = "UnavailableError";

inline std::string in_quotes(std::string_view text) { return "'" + std::string(text) + "'"; }

/// Runs a call's completion; a throwing user callback is logged, never propagated.
inline void deliver(const ReplyHandler& on_reply, std::string_view function, msgpack::object_handle* reply,
                    std::exception_ptr error) noexcept {
  try {
    on_reply(reply, std::move(error));
  } catch (const std::exception& e) {
    log(LogLevel::error, "pseud: the completion of '", function, "' threw: ", e.what());
  } catch (...) {
    log(LogLevel::error, "pseud: the completion of '", function, "' threw a non-std exception");
  }
}

/// The error as an exception_ptr, for handing to another thread. The exception
/// is built and its temporary destroyed here, before the hand-off: a temporary
/// outliving it would share its message buffer with the copy the caller reads.
template <class E>
std::exception_ptr failure(std::string message) {
  return std::make_exception_ptr(E(std::move(message)));
}

/// Printable form of peer-chosen bytes (routing ids, ids) for logs.
std::string printable(std::string_view bytes);

}  // namespace pseud::detail
