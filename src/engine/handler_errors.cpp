#include "engine/handler_errors.hpp"

#include <optional>

#include "log.hpp"
#include "pseud/detail/handler.hpp"
#include "values/exception_mapping.hpp"
#include "wire/bodies.hpp"

namespace pseud::detail {

void HandlerErrors::encode(const Route& route, const Caller& caller, const std::exception_ptr& raised,
                           WireBuffer& body) const {
  // Part of the function's contract: goes out as it is (so does every
  // exception of a function that declares none).
  std::optional<wire::ErrorBody> error;
  bool about_the_call = false;  // the caller's arguments did not fit: not the function's doing
  try {
    std::rethrow_exception(raised);
  } catch (const ArgumentError&) {
    about_the_call = true;
  } catch (...) {
  }
  if (route.raises.empty() || about_the_call) error = describe_exception(raised);
  for (const DeclaredError& declared : route.raises) {
    if (auto described = declared.describe(raised)) {
      error = wire::ErrorBody{std::move(described->name), std::move(described->message), ""};
      break;
    }
  }
  if (!about_the_call && (!error || route.raises.empty())) report(route.name, caller, raised);
  if (!error) {
    // Not part of the contract: nothing of it leaves the process.
    log(LogLevel::debug, "pseud: '", route.name, "' raised an undeclared exception; answered Nack");
    wire::encode_error(body, "Nack", "", "");
    return;
  }
  if (error->name.empty()) error->name = "Exception";
  log(LogLevel::debug, "pseud: '", route.name, "' raised ", error->name, ": ", error->message);
  wire::encode_error(body, error->name, error->message, send_tracebacks_ ? error->traceback : "");
}

void HandlerErrors::report(const std::string& function, const Caller& caller, const std::exception_ptr& raised) const {
  if (!hook_) return;
  try {
    hook_(function, caller, raised);
  } catch (const std::exception& e) {
    log(LogLevel::error, "pseud: PeerOptions::on_handler_error threw: ", e.what());
  } catch (...) {
    log(LogLevel::error, "pseud: PeerOptions::on_handler_error threw");
  }
}

}  // namespace pseud::detail
