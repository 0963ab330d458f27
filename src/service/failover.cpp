#include "service/failover.hpp"

#include "pseud/errors.hpp"

namespace pseud::detail {

AfterAttempt after_attempt(const std::exception_ptr& error, bool idempotent) {
  if (!error) return AfterAttempt::finish;
  const AfterAttempt lost = idempotent ? AfterAttempt::try_another : AfterAttempt::outcome_unknown;
  try {
    std::rethrow_exception(error);
  } catch (const PeerGoneError&) {
    return lost;  // sent, then the instance went: it may have run
  } catch (const PeerUnreachableError&) {
    return AfterAttempt::try_another;  // never delivered (no route, refused handshake, gone before sending)
  } catch (const PeerStoppedError&) {
    return lost;  // the instance's connection was dropped (it left discovery) with the call in flight
  } catch (const UnavailableError&) {
    return AfterAttempt::try_another;  // refused unrun: the instance is stopping
  } catch (const OverloadedError&) {
    return AfterAttempt::try_another;  // refused unrun: this caller is over its budget there
  } catch (...) {
    return AfterAttempt::finish;  // timeouts, cancellation, conversion: the caller's to see
  }
}

bool instance_lost(const std::exception_ptr& error) {
  if (!error) return false;
  try {
    std::rethrow_exception(error);
  } catch (const PeerUnreachableError&) {
    return true;
  } catch (const PeerStoppedError&) {
    return true;
  } catch (const UnavailableError&) {
    return true;  // it is stopping (Peer::stop with a grace): it takes no new call
  } catch (...) {
    return false;
  }
}

}  // namespace pseud::detail
