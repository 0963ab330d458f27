#pragma once
/// Exceptions thrown by pseud++. Every one derives from pseud::Error.

#include <stdexcept>
#include <string>

namespace pseud {

/// Base of every exception this library throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The call got no reply before its deadline.
class TimeoutError : public Error {
 public:
  using Error::Error;
};

/// The call was cancelled through its stop token.
class CancelledError : public Error {
 public:
  using Error::Error;
};

/// The destination is not connected (or no longer is): the call was never delivered.
class PeerUnreachableError : public Error {
 public:
  using Error::Error;
};

/// The connection's security handshake failed (wrong server key, refused
/// credentials, mismatched mechanism): retrying with the same settings will not help.
class HandshakeError : public PeerUnreachableError {
 public:
  using PeerUnreachableError::PeerUnreachableError;
};

/// The peer was declared gone (heartbeats stopped, or its connection closed)
/// while the call waited for its reply.
class PeerGoneError : public PeerUnreachableError {
 public:
  using PeerUnreachableError::PeerUnreachableError;
};

/// A ServiceClient's call was delivered to an instance that was then lost
/// before it answered: the call may or may not have run. It was not sent to
/// another instance because it is not marked CallOptions::idempotent.
class OutcomeUnknownError : public Error {
 public:
  using Error::Error;
};

/// The local peer was stopped before the call completed, or is stopped.
class PeerStoppedError : public Error {
 public:
  using Error::Error;
};

/// Target::notify found its destination's outbox full, with
/// OutboxOptions::overflow set to fail; the notification was not queued.
class OutboxFullError : public Error {
 public:
  using Error::Error;
};

/// A discovery backend (etcd) could not be reached or answered what pseud++
/// cannot use; the message names the backend and what failed.
class DiscoveryError : public Error {
 public:
  using Error::Error;
};

/// A plugin process (pseud/plugin_host.hpp) could not be started, did not
/// complete its handshake, or sent one the host refuses; the message names the
/// plugin and says what it did (its exit status, its last lines of stderr).
class PluginError : public Error {
 public:
  using Error::Error;
};

/// A peer sent a reply this library cannot decode.
class ProtocolError : public Error {
 public:
  using Error::Error;
};

/// A message is larger than the configured limit; it was not sent.
class MessageTooLargeError : public Error {
 public:
  using Error::Error;
};

/// A reply decoded fine but does not convert to the requested C++ type.
class ConversionError : public Error {
 public:
  using Error::Error;
};

/// The library was used in a way that cannot work (the message says how to fix it).
class UsageError : public Error {
 public:
  using Error::Error;
};

/// An ERROR reply: the remote handler failed. `name` is the Python class
/// name (`ValueError`, `CustomError`, ...). Handlers may throw it too, to
/// choose the class name the caller sees.
class RemoteError : public Error {
 public:
  RemoteError(std::string name, std::string message, std::string traceback = {})
      : Error(name + ": " + message), name_(std::move(name)), message_(std::move(message)),
        traceback_(std::move(traceback)) {}

  /// The remote exception's class name, without module.
  const std::string& name() const noexcept { return name_; }
  /// The remote exception's message (str(exc) in Python).
  const std::string& message() const noexcept { return message_; }
  /// Remote traceback text; empty unless the remote peer is configured to send it.
  const std::string& traceback() const noexcept { return traceback_; }

 private:
  std::string name_;
  std::string message_;
  std::string traceback_;
};

/// The handler declined the call without saying why (lymph's nack): it
/// answered through its ReplyChannel with nack(), dropped the channel
/// unanswered, or raised an exception its registration did not declare.
class Nack : public RemoteError {
 public:
  explicit Nack(std::string message = {}, std::string traceback = {})
      : RemoteError("Nack", std::move(message), std::move(traceback)) {}
};

/// No function of that name is visible to this caller (unknown, or refused by a predicate).
class ServiceNotFoundError : public RemoteError {
 public:
  explicit ServiceNotFoundError(std::string message, std::string traceback = {})
      : RemoteError("ServiceNotFoundError", std::move(message), std::move(traceback)) {}
};

/// The remote peer refused the request without running it: this caller
/// already had too much work in its hands (PeerOptions::max_requests_per_peer
/// and the byte limits beside it). Safe to retry later.
class OverloadedError : public RemoteError {
 public:
  explicit OverloadedError(std::string message, std::string traceback = {})
      : RemoteError("OverloadedError", std::move(message), std::move(traceback)) {}
};

/// The peer is stopping (Peer::stop with a grace period) or not serving:
/// the call did not run; safe to retry elsewhere.
class UnavailableError : public RemoteError {
 public:
  explicit UnavailableError(std::string message, std::string traceback = {})
      : RemoteError("UnavailableError", std::move(message), std::move(traceback)) {}
};

/// The remote peer refused to authenticate this caller.
class UnauthorizedError : public RemoteError {
 public:
  explicit UnauthorizedError(std::string message, std::string traceback = {})
      : RemoteError("UnauthorizedError", std::move(message), std::move(traceback)) {}
};

}  // namespace pseud
