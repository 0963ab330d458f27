#include "values/exception_mapping.hpp"

#include <cxxabi.h>

#include <memory>
#include <new>
#include <stdexcept>
#include <system_error>
#include <typeinfo>

#include <msgpack.hpp>

#include "pseud/errors.hpp"
#include "pseud/registry.hpp"

namespace pseud::detail {

namespace {

std::string demangled(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(type.name());
}

wire::ErrorBody make(std::string name, const std::exception& e) {
  return {std::move(name), e.what(), "C++ exception " + demangled(typeid(e)) + ": " + e.what()};
}

}  // namespace

wire::ErrorBody describe_exception(const std::exception_ptr& error) noexcept {
  try {
    try {
      std::rethrow_exception(error);
    } catch (const RemoteError& e) {
      return {e.name(), e.message(), e.traceback().empty() ? "C++ exception " + demangled(typeid(e)) : e.traceback()};
    } catch (const msgpack::type_error& e) {
      return make("TypeError", e);
    } catch (const std::invalid_argument& e) {
      return make("ValueError", e);
    } catch (const std::domain_error& e) {
      return make("ValueError", e);
    } catch (const std::length_error& e) {
      return make("ValueError", e);
    } catch (const std::out_of_range& e) {
      return make("IndexError", e);
    } catch (const std::overflow_error& e) {
      return make("OverflowError", e);
    } catch (const std::underflow_error& e) {
      return make("ArithmeticError", e);
    } catch (const std::range_error& e) {
      return make("ArithmeticError", e);
    } catch (const std::bad_alloc& e) {
      return make("MemoryError", e);
    } catch (const std::system_error& e) {
      return make("OSError", e);
    } catch (const std::bad_cast& e) {
      return make("TypeError", e);
    } catch (const std::logic_error& e) {
      return make("RuntimeError", e);
    } catch (const std::runtime_error& e) {
      return make("RuntimeError", e);
    } catch (const std::exception& e) {
      return make("Exception", e);
    } catch (...) {
      return {"Exception", "unknown C++ exception", "C++ exception of a type not derived from std::exception"};
    }
  } catch (...) {
    // Building the strings failed (out of memory): send what needs no allocation.
    return {};
  }
}

std::exception_ptr remote_exception(wire::ErrorBody&& body) {
  if (body.name == "ServiceNotFoundError") {
    return std::make_exception_ptr(ServiceNotFoundError(std::move(body.message), std::move(body.traceback)));
  }
  if (body.name == "OverloadedError") {
    return std::make_exception_ptr(OverloadedError(std::move(body.message), std::move(body.traceback)));
  }
  if (body.name == "UnavailableError") {
    return std::make_exception_ptr(UnavailableError(std::move(body.message), std::move(body.traceback)));
  }
  if (body.name == "Nack") {
    return std::make_exception_ptr(Nack(std::move(body.message), std::move(body.traceback)));
  }
  if (body.name == "UnauthorizedError") {
    return std::make_exception_ptr(UnauthorizedError(std::move(body.message), std::move(body.traceback)));
  }
  return std::make_exception_ptr(RemoteError(std::move(body.name), std::move(body.message), std::move(body.traceback)));
}

}  // namespace pseud::detail

namespace pseud::detail {

DeclaredError::Described describe_declared(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const RemoteError& e) {
    return {e.name(), e.message()};
  } catch (const std::exception& e) {
    std::string name = demangled(typeid(e));
    if (name.rfind("std::", 0) == 0) return {describe_exception(error).name, e.what()};
    // Without namespaces or template arguments: the class name a Python peer would print.
    if (const auto angle = name.find('<'); angle != std::string::npos) name.resize(angle);
    if (const auto colons = name.rfind("::"); colons != std::string::npos) name.erase(0, colons + 2);
    return {name, e.what()};
  } catch (...) {
    return {"Exception", ""};
  }
}

}  // namespace pseud::detail
