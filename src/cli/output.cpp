#include "cli/output.hpp"

#include <cstdio>
#include <mutex>

#include "cli/command_line.hpp"
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

std::string error_field(const std::exception_ptr& error) {
  std::string name = "Error";
  std::string message;
  try {
    std::rethrow_exception(error);
  } catch (const RemoteError& e) {
    name = e.name();
    message = e.message();
  } catch (const TimeoutError& e) {
    name = "TimeoutError";
    message = e.what();
  } catch (const HandshakeError& e) {
    name = "HandshakeError";
    message = e.what();
  } catch (const PeerGoneError& e) {
    name = "PeerGoneError";
    message = e.what();
  } catch (const PeerUnreachableError& e) {
    name = "PeerUnreachableError";
    message = e.what();
  } catch (const OutcomeUnknownError& e) {
    name = "OutcomeUnknownError";
    message = e.what();
  } catch (const DiscoveryError& e) {
    name = "DiscoveryError";
    message = e.what();
  } catch (const PeerStoppedError& e) {
    name = "PeerStoppedError";
    message = e.what();
  } catch (const UsageError& e) {
    name = "UsageError";
    message = e.what();
  } catch (const std::exception& e) {
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
  } catch (...) {
    return Exit::usage;
  }
}

}  // namespace pseud::cli
