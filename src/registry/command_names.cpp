// The process-wide table of typed commands' wire names (command.hpp): one
// C++ type per wire name, whichever registry it is registered in.

#include <cxxabi.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <typeinfo>

#include "pseud/command.hpp"
#include "pseud/errors.hpp"

namespace pseud::detail {

std::string type_name(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status),
                                                   std::free);
  return status == 0 && demangled ? std::string(demangled.get()) : std::string(type.name());
}

void claim_command_name(std::string_view wire_name, const std::type_info& type) {
  static std::mutex mutex;
  static std::map<std::string, const std::type_info*, std::less<>> owners;
  std::lock_guard lock(mutex);
  auto [it, added] = owners.try_emplace(std::string(wire_name), &type);
  if (added || *it->second == type) return;
  throw UsageError("register_command<" + type_name(type) + ">: the wire name '" + std::string(wire_name) +
                   "' belongs to " + type_name(*it->second) +
                   " already (wire names are unique in a process: give one of them another name in its "
                   "PSEUD_COMMAND)");
}

}  // namespace pseud::detail
