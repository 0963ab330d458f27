#include "cli/output.hpp"

#include <cstdio>
#include <mutex>
#include <utility>

#include "cli/usage.hpp"
#include "cli/json.hpp"
#include "pseud/errors.hpp"

namespace pseud::cli {

void print_line(std::string_view line) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

std::string json_text(std::string_view text) {
  msgpack::sbuffer packed;
  msgpack::packer<msgpack::sbuffer> packer(packed);
  packer.pack_str(static_cast<std::uint32_t>(text.size()));
  packer.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
  return to_json(msgpack::unpack(packed.data(), packed.size()).get());
}

std::string result_field(const msgpack::object& value) { return "\"result\": " + to_json(value); }

std::string result_line(const msgpack::object& value) { return "{" + result_field(value) + "}"; }

std::string error_line(const std::exception_ptr& error) { return "{" + error_field(error) + "}"; }

namespace {

template <class E>
bool is_a(const std::exception& e) {
  return dynamic_cast<const E*>(&e) != nullptr;
}

// The name a local error is printed under, most derived first (a
// HandshakeError and a PeerGoneError are PeerUnreachableErrors too).
const char* local_error_name(const std::exception& e) {
  static constexpr std::pair<bool (*)(const std::exception&), const char*> names[] = {
      {is_a<TimeoutError>, "TimeoutError"},
      {is_a<HandshakeError>, "HandshakeError"},
      {is_a<PeerGoneError>, "PeerGoneError"},
      {is_a<PeerUnreachableError>, "PeerUnreachableError"},
      {is_a<OutcomeUnknownError>, "OutcomeUnknownError"},
      {is_a<DiscoveryError>, "DiscoveryError"},
      {is_a<PluginError>, "PluginError"},
      {is_a<PeerStoppedError>, "PeerStoppedError"},
      {is_a<UsageError>, "UsageError"},
  };
  for (const auto& [matches, name] : names) {
    if (matches(e)) return name;
  }
  return "Error";
}

}  // namespace

std::string error_field(const std::exception_ptr& error) {
  std::string name = "Error";
  std::string message;
  try {
    std::rethrow_exception(error);
  } catch (const RemoteError& e) {
    name = e.name();
    message = e.message();
  } catch (const std::exception& e) {
    name = local_error_name(e);
    message = e.what();
  } catch (...) {
    message = "unknown error";
  }
  return "\"error\": {\"name\": " + json_text(name) + ", \"message\": " + json_text(message) + "}";
}

int exit_status_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const RemoteError&) {
    return Exit::remote_error;
  } catch (const TimeoutError&) {
    return Exit::unreachable;
  } catch (const PeerUnreachableError&) {
    return Exit::unreachable;
  } catch (const OutcomeUnknownError&) {
    return Exit::unreachable;  // reached, then lost: whether it ran is unknown
  } catch (const DiscoveryError&) {
    return Exit::unreachable;
  } catch (const PluginError&) {
    return Exit::unreachable;  // the plugin did not start, or not as the protocol says
  } catch (...) {
    return Exit::usage;
  }
}

}  // namespace pseud::cli
