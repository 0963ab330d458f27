#pragma once
// Layer 5 (service): what a ServiceClient does after one attempt of a call
// failed on one instance. Pure: no sockets, no state.

#include <exception>

namespace pseud::detail {

enum class AfterAttempt {
  finish,           ///< the outcome is the call's: a reply, or an error the caller must see
  try_another,      ///< the instance never ran the call: another one may
  outcome_unknown,  ///< the call reached an instance that was lost: it may have run
};

/// `error`: the attempt's failure (null: it succeeded). `idempotent`:
/// CallOptions::idempotent. A lost instance's call moves only when idempotent.
AfterAttempt after_attempt(const std::exception_ptr& error, bool idempotent);

/// Whether `error` says the instance's connection is down or that it is
/// stopping (not merely that it is busy): it is then out of the picks until
/// it joins again.
bool instance_lost(const std::exception_ptr& error);

}  // namespace pseud::detail
