#pragma once
/// Deciding ZeroMQ PLAIN and CURVE handshakes from an authentication backend,
/// without touching ZAP: the library owns the one ZAP handler per context
/// ("inproc://zeromq.zap.01") and hands each handshake of your server's
/// socket to the function you give decide_handshakes(). Call it from
/// AuthBackend::configure(), after making the socket a PLAIN or CURVE server
/// and before any bind; keep the HandshakeGate it returns until stop().
///
/// Fail closed: the socket is tied to a ZAP domain of its own and the domain
/// is enforced, so a handshake nobody decides (gate destroyed, decider
/// thrown) is refused, never let in (libzmq's CURVE alone accepts any key).
///
/// Deciders run on the context's handshake thread, one handshake at a time
/// for every server of the context: keep them fast (no network, no disk, no
/// password hashing). Slow decisions answer later through a HandshakeAnswer,
/// from any thread (see passwords.hpp's PasswordCheckThreads).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "pseud/auth.hpp"
#include "pseud/keys.hpp"

namespace pseud {

/// The mechanism a client uses. NULL and GSSAPI handshakes never reach a
/// decider: they are refused.
enum class HandshakeMechanism { plain, curve };

/// One handshake to decide.
struct Handshake {
  HandshakeMechanism mechanism = HandshakeMechanism::plain;
  /// The client's IP address as text; empty over ipc and inproc.
  std::string address;
  /// PLAIN: what the client sent (byte strings, not checked in any way).
  std::string login;
  std::string password;
  /// CURVE: the client's long-term public key, Z85 (40 characters).
  std::string client_key;
};

/// What a decider says about one handshake. The default refuses.
struct HandshakeVerdict {
  enum class Outcome {
    accepted,  ///< the client is in, as `user`
    refused,   ///< the client's credentials are not good enough
    failed,    ///< the server could not decide (its own limits, an error)
  };
  Outcome outcome = Outcome::refused;
  /// The user the connection speaks for (accepted only): what Caller::user_id,
  /// AuthBackend::user_of and send_to(user) see. Must not be empty.
  std::string user;
  /// Why, for the server's logs (ZeroMQ tells the client nothing more).
  std::string reason = "Unauthorized";

  static HandshakeVerdict accept(std::string user) { return {Outcome::accepted, std::move(user), "OK"}; }
  static HandshakeVerdict refuse(std::string reason = "Unauthorized") { return {Outcome::refused, {}, std::move(reason)}; }
  static HandshakeVerdict fail(std::string reason) { return {Outcome::failed, {}, std::move(reason)}; }
};

/// The answer to one handshake, given later and from any thread. Copies
/// share the one answer: the first call gives it, later calls do nothing
/// and return false (as does an answer after the handshake timed out).
/// When the last copy goes unanswered, the client is refused at once.
class HandshakeAnswer {
 public:
  explicit HandshakeAnswer(std::function<bool(HandshakeVerdict)> answer) : answer_(std::move(answer)) {}
  bool operator()(HandshakeVerdict verdict) const { return answer_(std::move(verdict)); }

 private:
  std::function<bool(HandshakeVerdict)> answer_;
};

/// Decides a handshake now.
using HandshakeDecider = std::function<HandshakeVerdict(const Handshake&)>;
/// Decides a handshake now (returns its verdict) or later (returns nullopt
/// and answers through a copy of `answer`).
using DeferringHandshakeDecider =
    std::function<std::optional<HandshakeVerdict>(const Handshake&, const HandshakeAnswer& answer)>;

/// Bounds on the handshakes of one server waiting for a later answer
/// (libzmq itself would wait for ever).
struct HandshakeLimits {
  /// Handshakes waiting at once; the next is refused without asking the decider.
  std::size_t max_pending = 256;
  /// A handshake unanswered this long is refused; a later answer is dropped.
  std::chrono::milliseconds timeout{10000};
};

/// Keeps a server's handshakes decided. Destroying it stops the decider
/// (when the destructor returns, the decider is not running and never runs
/// again); handshakes after that are refused. Counters are thread-safe.
class HandshakeGate {
 public:
  struct Impl;
  explicit HandshakeGate(std::unique_ptr<Impl> impl) noexcept;
  ~HandshakeGate();
  HandshakeGate(const HandshakeGate&) = delete;
  HandshakeGate& operator=(const HandshakeGate&) = delete;

  /// Handshakes handed to the decider so far.
  std::uint64_t decided() const noexcept;
  /// Handshakes waiting for a later answer now.
  std::size_t pending() const noexcept;
  /// Handshakes refused because HandshakeLimits::max_pending were waiting.
  std::uint64_t refused_pending() const noexcept;
  /// Handshakes refused because no answer came within HandshakeLimits::timeout.
  std::uint64_t expired() const noexcept;

 private:
  std::unique_ptr<Impl> impl_;
};

/// Hands every PLAIN or CURVE handshake of `host`'s socket to `decide`.
/// Throws pseud::Error when the context's ZAP endpoint is bound by someone
/// else. Server role only.
std::unique_ptr<HandshakeGate> decide_handshakes(AuthHost& host, HandshakeDecider decide);
/// The same for a decider that may answer later, within `limits`.
std::unique_ptr<HandshakeGate> decide_handshakes(AuthHost& host, DeferringHandshakeDecider decide,
                                                 HandshakeLimits limits = {});

/// Makes `host`'s socket a CURVE server with its long-term secret key.
void use_curve_server(AuthHost& host, const CurveKey& secret_key);
/// Makes `host`'s socket a CURVE client of the server whose public key is
/// `server_key`, with the client's own long-term key pair.
void use_curve_client(AuthHost& host, const CurveKey& server_key, const CurveKey& public_key,
                      const CurveKey& secret_key);
/// Makes `host`'s socket a PLAIN server (passwords travel in clear text:
/// only over a link that is encrypted otherwise).
void use_plain_server(AuthHost& host);
/// Makes `host`'s socket a PLAIN client with these credentials.
void use_plain_client(AuthHost& host, std::string_view login, std::string_view password);

}  // namespace pseud
