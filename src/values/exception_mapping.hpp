#pragma once
// Layer 2 (values): C++ exceptions <-> pseud ERROR bodies. The class names
// are those a Python pseud peer turns back into its builtins.

#include <exception>
#include <string>

#include "wire/bodies.hpp"

namespace pseud::detail {

/// A handler's failure as the ERROR it sends: Python class name and message;
/// `traceback` describes the C++ exception and is sent only when asked for.
wire::ErrorBody describe_exception(const std::exception_ptr& error) noexcept;

/// The exception a caller receives for an ERROR reply: ServiceNotFoundError,
/// UnauthorizedError, or RemoteError.
std::exception_ptr remote_exception(wire::ErrorBody&& body);

}  // namespace pseud::detail
