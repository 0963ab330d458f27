#pragma once
// CURVE keys for a run, and the floor's counterpart of pseud's trusted_curve
// server: a ZAP handler accepting exactly one client key.

#include <atomic>
#include <string>
#include <thread>

#include <zmq.hpp>

namespace bench {

/// A CURVE key pair, both halves Z85 (40 characters).
struct KeyPair {
  std::string public_key;
  std::string secret_key;
};

/// A fresh key pair from libzmq. Throws std::runtime_error without CURVE support.
KeyPair make_key_pair();

/// Answers libzmq's ZAP requests (inproc://zeromq.zap.01 of `context`) on a
/// thread of its own, as pseud's ZAP dispatcher does for trusted_curve:
/// status 200 with User-Id "bench" for CURVE and `trusted_public_key`, 400
/// for anything else. Bound on construction; stopped and joined by the destructor.
class ZapAllowOne {
 public:
  ZapAllowOne(zmq::context_t& context, const std::string& trusted_public_key);
  ~ZapAllowOne();
  ZapAllowOne(const ZapAllowOne&) = delete;
  ZapAllowOne& operator=(const ZapAllowOne&) = delete;

 private:
  void serve();

  zmq::socket_t socket_;
  std::string trusted_;  ///< 32 raw bytes
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// The ZAP domain the floor's server socket sets.
inline constexpr const char* zap_domain = "bench";

}  // namespace bench
