// The pieces of protocol/PLUGINS.md both sides share: the cookie, the
// version lists and the handshake line.

#include "pseud/plugin_protocol.hpp"

#include <sys/un.h>

#include <algorithm>
#include <charconv>
#include <string>

#include "pseud/errors.hpp"
#include "pseud/keys.hpp"

namespace pseud {

namespace {

constexpr std::size_t quoted_limit = 200;

std::string quoted(std::string_view line) {
  std::string text = "'";
  for (char c : line.substr(0, quoted_limit)) text += (c >= 0x20 && c < 0x7f) ? c : '?';
  text += line.size() > quoted_limit ? "'... (" + std::to_string(line.size()) + " characters)" : "'";
  return text;
}

// The pieces between separators, empty ones included ("" is one empty piece).
std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> pieces;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = text.find(separator, start);
    pieces.push_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return pieces;
    start = at + 1;
  }
}

std::optional<int> small_positive(std::string_view text) {
  int value = 0;
  if (text.empty() || text.size() > 9) return std::nullopt;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value <= 0) return std::nullopt;
  return value;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool is_loopback_host(std::string_view host) {
  if (host == "[::1]") return true;
  // 127.0.0.0/8, written as four decimal numbers.
  const auto numbers = split(host, '.');
  if (numbers.size() != 4 || numbers[0] != "127") return false;
  return std::all_of(numbers.begin(), numbers.end(), [](std::string_view number) {
    int value = -1;
    const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
    return !number.empty() && error == std::errc{} && end == number.data() + number.size() && value <= 255;
  });
}

void check_tcp_address(std::string_view address, std::string_view line) {
  const std::size_t colon = address.rfind(':');
  const auto port = colon == std::string_view::npos ? std::nullopt : small_positive(address.substr(colon + 1));
  if (!port || *port > 65535)
    throw PluginError("plugin handshake: the tcp address is not HOST:PORT in " + quoted(line));
  if (!is_loopback_host(address.substr(0, colon)))
    throw PluginError("plugin handshake: the tcp address " + quoted(address) +
                      " is not on the loopback interface; a plugin listens on 127.0.0.1 only");
}

}  // namespace

PluginCookie PluginCookie::parse(std::string_view key_equals_value) {
  const std::size_t equals = key_equals_value.find('=');
  if (equals == std::string_view::npos)
    throw UsageError("plugin cookie: expected KEY=VALUE, got no '=' in '" + std::string(key_equals_value) + "'");
  const std::string_view key = key_equals_value.substr(0, equals);
  const bool name_ok = !key.empty() && !(key.front() >= '0' && key.front() <= '9') &&
                       std::all_of(key.begin(), key.end(), [](char c) {
                         return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                       });
  if (!name_ok)
    throw UsageError("plugin cookie: '" + std::string(key) +
                     "' cannot be an environment variable name (letters, digits and '_', not starting with a digit)");
  return {std::string(key), std::string(key_equals_value.substr(equals + 1))};
}

std::string_view plugin_transport_name(PluginTransport transport) noexcept {
  return transport == PluginTransport::tcp ? "tcp" : "unix";
}

std::string PluginHandshake::endpoint() const {
  return (transport == PluginTransport::tcp ? "tcp://" : "ipc://") + address;
}

std::string PluginHandshake::line() const {
  return std::to_string(plugin_handshake_version) + "|" + std::to_string(version) + "|" +
         std::string(plugin_transport_name(transport)) + "|" + address + "|pseud|" + server_key;
}

bool looks_like_plugin_handshake(std::string_view line) noexcept {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  const auto fields = split(line, '|');
  if (fields.size() < 4 || fields[0] != "1" || !small_positive(fields[1])) return false;
  return !fields[2].empty() && std::all_of(fields[2].begin(), fields[2].end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

PluginHandshake parse_plugin_handshake(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  const auto fields = split(line, '|');
  if (fields.size() < 4)
    throw PluginError("plugin handshake: not a handshake line (CORE|VERSION|TRANSPORT|ADDRESS|PROTOCOL|KEY): " +
                      quoted(line));
  if (fields[0] != "1")
    throw PluginError("plugin handshake: handshake version " + quoted(fields[0]) + ", this host speaks 1");
  const auto version = small_positive(fields[1]);
  if (!version) throw PluginError("plugin handshake: the protocol version is not a positive integer in " + quoted(line));
  if (fields.size() < 6)
    throw PluginError("plugin handshake: an rpcplugin line (gRPC, " + std::to_string(fields.size()) +
                      " fields): pseud++ hosts only plugins that speak pseud: " + quoted(line));
  const std::string_view protocol = fields[4];
  if (protocol == "grpc" || protocol == "netrpc")
    throw PluginError("plugin handshake: a go-plugin plugin speaking " + std::string(protocol) +
                      "; pseud++ hosts only plugins that speak pseud (protocol/PLUGINS.md)");
  if (protocol != "pseud")
    throw PluginError("plugin handshake: protocol " + quoted(protocol) + ", expected 'pseud'");
  PluginHandshake handshake;
  handshake.version = *version;
  if (fields[2] == "unix") {
    handshake.transport = PluginTransport::unix_socket;
    if (!fields[3].starts_with('/'))
      throw PluginError("plugin handshake: the unix socket path is not absolute: " + quoted(fields[3]));
    if (fields[3].size() >= sizeof(sockaddr_un{}.sun_path))
      throw PluginError("plugin handshake: the unix socket path is longer than a socket address holds (" +
                        std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes): " + quoted(fields[3]));
  } else if (fields[2] == "tcp") {
    handshake.transport = PluginTransport::tcp;
    check_tcp_address(fields[3], line);
  } else {
    throw PluginError("plugin handshake: transport " + quoted(fields[2]) + ", expected 'unix' or 'tcp'");
  }
  handshake.address = std::string(fields[3]);
  if (!is_valid_curve_key(fields[5]))
    throw PluginError("plugin handshake: the server key is not a 40-character Z85 CURVE key in " + quoted(line));
  handshake.server_key = std::string(fields[5]);
  return handshake;
}

std::vector<int> parse_plugin_versions(std::string_view text, std::string_view what) {
  std::vector<int> versions;
  for (const std::string_view entry : split(text, ',')) {
    const auto version = small_positive(trim(entry));
    if (!version)
      throw UsageError(std::string(what) + ": '" + std::string(text.substr(0, quoted_limit)) +
                       "' is not a comma-separated list of positive integers");
    versions.push_back(*version);
  }
  return versions;
}

std::string plugin_versions_text(const std::vector<int>& versions) {
  std::string text;
  for (int version : versions) text += (text.empty() ? "" : ",") + std::to_string(version);
  return text;
}

std::optional<int> highest_common_version(const std::vector<int>& host, const std::vector<int>& plugin) {
  std::optional<int> best;
  for (int version : plugin)
    if (std::find(host.begin(), host.end(), version) != host.end() && (!best || version > *best)) best = version;
  return best;
}

}  // namespace pseud
