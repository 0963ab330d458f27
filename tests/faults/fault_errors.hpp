#pragma once
// The kind of pseud error a call ended with, as a word tests and the
// fault_peer helper print and compare.

#include <exception>
#include <string>

#include "pseud/errors.hpp"

namespace pseud::faults {

// The name of the pseud error an exception_ptr holds ("ok" for none).
inline std::string error_kind(const std::exception_ptr& error) {
  if (!error) return "ok";
  try {
    std::rethrow_exception(error);
  } catch (const HandshakeError&) {
    return "HandshakeError";
  } catch (const PeerGoneError&) {
    return "PeerGoneError";
  } catch (const PeerUnreachableError&) {
    return "PeerUnreachableError";
  } catch (const TimeoutError&) {
    return "TimeoutError";
  } catch (const CancelledError&) {
    return "CancelledError";
  } catch (const PeerStoppedError&) {
    return "PeerStoppedError";
  } catch (const OutcomeUnknownError&) {
    return "OutcomeUnknownError";
  } catch (const RemoteError& e) {
    return "RemoteError(" + e.name() + ")";
  } catch (const Error&) {
    return "pseud::Error";
  } catch (const std::exception&) {
    return "std::exception";
  } catch (...) {
    return "unknown";
  }
}

inline std::string error_text(const std::exception_ptr& error) {
  if (!error) return {};
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown";
  }
}

}  // namespace pseud::faults
