#pragma once
// Layer 4 (engine): how a handler's exception is answered. An exception the
// function declares (RpcOptions::raises) goes out by name; any other of a
// function that declares some becomes a bare Nack, and every exception that
// is not part of the contract goes to PeerOptions::on_handler_error.
// Immutable, and shared with reply channels, which answer from any thread
// (ReplyChannel::fail, a coroutine handler's exception) and may outlive the engine.

#include <exception>
#include <functional>
#include <string>

#include "pseud/caller.hpp"
#include "pseud/detail/wire_buffer.hpp"
#include "pseud/registry.hpp"

namespace pseud::detail {

class HandlerErrors {
 public:
  using Hook = std::function<void(const std::string& function, const Caller& caller, std::exception_ptr error)>;
  HandlerErrors(bool send_tracebacks, Hook hook) : send_tracebacks_(send_tracebacks), hook_(std::move(hook)) {}

  /// Encodes the ERROR body answering `raised` from `route`'s function into `body`.
  void encode(const Route& route, const Caller& caller, const std::exception_ptr& raised, WireBuffer& body) const;

 private:
  void report(const std::string& function, const Caller& caller, const std::exception_ptr& raised) const;

  const bool send_tracebacks_;
  const Hook hook_;
};

}  // namespace pseud::detail
