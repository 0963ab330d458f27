// The pieces of the plugin protocol both sides share (pseud/plugin_protocol.hpp,
// protocol/PLUGINS.md): the handshake line, parsed and refused with a message
// that names what is wrong (and quotes at most 200 characters of the line);
// the shape test that tells a handshake written on standard output from other
// output; version lists; the cookie.

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pseud/errors.hpp"
#include "pseud/keys.hpp"
#include "pseud/plugin_protocol.hpp"

namespace pseud::test {
namespace {

using ::testing::HasSubstr;

// A valid Z85 public key (any will do: the parser checks the encoding only).
const std::string& key() {
  static const std::string public_key = generate_curve_keypair().public_key;
  return public_key;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// The message of the PluginError parse_plugin_handshake throws for `line`;
// fails the test when it accepts the line or throws anything else.
std::string refusal_of(std::string_view line) {
  try {
    const PluginHandshake parsed = parse_plugin_handshake(line);
    ADD_FAILURE() << "accepted: " << parsed.line();
  } catch (const PluginError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a PluginError: " << e.what();
  }
  return {};
}

// The longest run of character `c` in `text`.
std::size_t longest_run(std::string_view text, char c) {
  std::size_t best = 0;
  std::size_t run = 0;
  for (const char x : text) {
    run = x == c ? run + 1 : 0;
    best = std::max(best, run);
  }
  return best;
}

// ---- good lines -----------------------------------------------------------------

struct GoodLine {
  std::string line;
  int version;
  PluginTransport transport;
  std::string address;
  std::string endpoint;
  std::string canonical;  // line() of the parsed handshake
};

TEST(PluginHandshakeLine, GoodLinesParseWithTheirEndpoint) {
  const std::string unix_line = "1|2|unix|/run/user/1000/pseud-plugin-Xb3kQa/plugin.sock|pseud|" + key();
  const std::string tcp_line = "1|1|tcp|127.0.0.1:40123|pseud|" + key();
  const std::vector<GoodLine> table = {
      {unix_line, 2, PluginTransport::unix_socket, "/run/user/1000/pseud-plugin-Xb3kQa/plugin.sock",
       "ipc:///run/user/1000/pseud-plugin-Xb3kQa/plugin.sock", unix_line},
      {tcp_line, 1, PluginTransport::tcp, "127.0.0.1:40123", "tcp://127.0.0.1:40123", tcp_line},
      {unix_line + "\n", 2, PluginTransport::unix_socket, "/run/user/1000/pseud-plugin-Xb3kQa/plugin.sock",
       "ipc:///run/user/1000/pseud-plugin-Xb3kQa/plugin.sock", unix_line},
      {tcp_line + "\r\n", 1, PluginTransport::tcp, "127.0.0.1:40123", "tcp://127.0.0.1:40123", tcp_line},
      {"1|7|tcp|127.0.0.1:1|pseud|" + key() + "\r", 7, PluginTransport::tcp, "127.0.0.1:1", "tcp://127.0.0.1:1",
       "1|7|tcp|127.0.0.1:1|pseud|" + key()},
      {"1|3|unix|/tmp/p.sock|pseud|" + key(), 3, PluginTransport::unix_socket, "/tmp/p.sock", "ipc:///tmp/p.sock",
       "1|3|unix|/tmp/p.sock|pseud|" + key()},
  };
  for (const auto& row : table) {
    SCOPED_TRACE(row.line);
    const PluginHandshake parsed = parse_plugin_handshake(row.line);
    EXPECT_EQ(parsed.version, row.version);
    EXPECT_EQ(parsed.transport, row.transport);
    EXPECT_EQ(parsed.address, row.address);
    EXPECT_EQ(parsed.server_key, key());
    EXPECT_EQ(parsed.endpoint(), row.endpoint);
    EXPECT_EQ(parsed.line(), row.canonical);
    // The line round-trips.
    const PluginHandshake again = parse_plugin_handshake(parsed.line());
    EXPECT_EQ(again.version, parsed.version);
    EXPECT_EQ(again.transport, parsed.transport);
    EXPECT_EQ(again.address, parsed.address);
    EXPECT_EQ(again.server_key, parsed.server_key);
    EXPECT_TRUE(looks_like_plugin_handshake(parsed.line()));
  }
}

TEST(PluginHandshakeLine, LineIsBuiltFromTheFields) {
  PluginHandshake handshake;
  handshake.version = 4;
  handshake.transport = PluginTransport::tcp;
  handshake.address = "127.0.0.1:5555";
  handshake.server_key = key();
  EXPECT_EQ(handshake.line(), "1|4|tcp|127.0.0.1:5555|pseud|" + key());
  EXPECT_EQ(handshake.endpoint(), "tcp://127.0.0.1:5555");
  handshake.transport = PluginTransport::unix_socket;
  handshake.address = "/a/b.sock";
  EXPECT_EQ(handshake.line(), "1|4|unix|/a/b.sock|pseud|" + key());
  EXPECT_EQ(handshake.endpoint(), "ipc:///a/b.sock");
}

TEST(PluginHandshakeLine, TransportNames) {
  EXPECT_EQ(plugin_transport_name(PluginTransport::unix_socket), "unix");
  EXPECT_EQ(plugin_transport_name(PluginTransport::tcp), "tcp");
}

// ---- refused lines ----------------------------------------------------------------

struct BadLine {
  std::string what;  // the case
  std::string line;
  std::vector<std::string> named;  // each must appear in the message (compared in lower case)
};

TEST(PluginHandshakeLine, BadLinesAreRefusedNamingWhatIsWrong) {
  const std::string cert = "MIIBkTCB+wIJAKHHIG4sMHyXMA0GCSqGSIb3DQEBBQUAMA0xCzAJBgNVBAYTAlVT";
  const std::vector<BadLine> table = {
      {"garbage", "hello, world", {}},
      {"empty", "", {}},
      {"a log line with bars", "INFO | starting | ok", {}},
      {"one field", "1", {}},
      {"three fields", "1|1|unix", {}},
      {"handshake version 2", "2|1|unix|/tmp/x/plugin.sock|pseud|" + key(), {"version"}},
      {"handshake version 0", "0|1|unix|/tmp/x/plugin.sock|pseud|" + key(), {"version"}},
      {"non-numeric handshake version", "one|1|unix|/tmp/x/plugin.sock|pseud|" + key(), {}},
      {"non-numeric protocol version", "1|two|unix|/tmp/x/plugin.sock|pseud|" + key(), {"two"}},
      {"empty protocol version", "1||unix|/tmp/x/plugin.sock|pseud|" + key(), {}},
      {"negative protocol version", "1|-1|unix|/tmp/x/plugin.sock|pseud|" + key(), {}},
      {"go-plugin gRPC", "1|1|unix|/tmp/x|grpc|" + cert, {"grpc"}},
      {"go-plugin net/rpc", "1|1|unix|/tmp/x|netrpc|", {"netrpc"}},
      {"go-plugin gRPC over tcp", "1|1|tcp|127.0.0.1:1234|grpc|", {"grpc"}},
      {"rpcplugin, 4 fields", "1|1|tcp|127.0.0.1:1234", {"rpcplugin"}},
      {"rpcplugin, 5 fields", "1|1|unix|/tmp/plugin.sock|" + cert, {"rpcplugin"}},
      {"unknown protocol", "1|1|unix|/tmp/x/plugin.sock|thrift|" + key(), {"thrift"}},
      {"unknown transport", "1|1|udp|127.0.0.1:9|pseud|" + key(), {"udp"}},
      {"unknown transport (ipc)", "1|1|ipc|/tmp/x/plugin.sock|pseud|" + key(), {"ipc"}},
      {"tcp off loopback", "1|1|tcp|10.0.0.1:80|pseud|" + key(), {"10.0.0.1"}},
      {"tcp to every interface", "1|1|tcp|0.0.0.0:80|pseud|" + key(), {"0.0.0.0"}},
      {"tcp to a host name", "1|1|tcp|example.com:80|pseud|" + key(), {"example.com"}},
      {"tcp without a port", "1|1|tcp|127.0.0.1|pseud|" + key(), {}},
      {"relative unix path", "1|1|unix|plugin.sock|pseud|" + key(), {"plugin.sock"}},
      {"relative unix path (dot)", "1|1|unix|./run/plugin.sock|pseud|" + key(), {"./run/plugin.sock"}},
      {"empty unix path", "1|1|unix||pseud|" + key(), {}},
      {"key not Z85 (short)", "1|1|unix|/tmp/x/plugin.sock|pseud|abc", {"key"}},
      {"key not Z85 (bad characters)", "1|1|unix|/tmp/x/plugin.sock|pseud|" + std::string(40, '~'), {"key"}},
      {"key all zeros", "1|1|unix|/tmp/x/plugin.sock|pseud|" + std::string(40, '0'), {"key"}},
      {"no key", "1|1|unix|/tmp/x/plugin.sock|pseud|", {"key"}},
  };
  for (const auto& row : table) {
    SCOPED_TRACE(row.what + ": " + row.line);
    const std::string message = refusal_of(row.line);
    EXPECT_FALSE(message.empty());
    for (const auto& word : row.named) EXPECT_THAT(lower(message), HasSubstr(word)) << message;
  }
}

TEST(PluginHandshakeLine, GoPluginLinesSayWhichProtocolTheyAre) {
  // Not merely "not a handshake": the host says what it saw, so its user knows
  // the plugin was written for go-plugin (or rpcplugin) and cannot be hosted.
  const std::string grpc = refusal_of("1|1|unix|/tmp/plugin123|grpc|MIIBkTCB+wIJAKHH");
  EXPECT_THAT(grpc, HasSubstr("grpc"));
  const std::string netrpc = refusal_of("1|1|tcp|127.0.0.1:1234|netrpc|");
  EXPECT_THAT(netrpc, HasSubstr("netrpc"));
  const std::string rpcplugin = refusal_of("1|1|tcp|127.0.0.1:1234|MIIBkTCB+wIJAKHH");
  EXPECT_THAT(lower(rpcplugin), HasSubstr("grpc")) << rpcplugin;
}

TEST(PluginHandshakeLine, LongLinesAreQuotedAtMost200Characters) {
  struct Long {
    std::string what;
    std::string line;
    char filler;
  };
  const std::vector<Long> table = {
      {"10 KB of garbage", std::string(10 * 1024, 'x'), 'x'},
      {"a 10 KB relative unix path", "1|1|unix|" + std::string(10 * 1024, 'p') + "|pseud|" + key(), 'p'},
      {"a 10 KB tcp address", "1|1|tcp|" + std::string(10 * 1024, 't') + ":80|pseud|" + key(), 't'},
      {"a 10 KB handshake version", std::string(10 * 1024, '7') + "|1|unix|/tmp/x|pseud|" + key(), '7'},
      {"a 10 KB key", "1|1|unix|/tmp/plugin.sock|pseud|" + std::string(10 * 1024, 'k'), 'k'},
      {"a 10 KB protocol", "1|1|unix|/tmp/plugin.sock|" + std::string(10 * 1024, 'g') + "|" + key(), 'g'},
      {"10 KB of fields", "1|1|tcp|10.0.0.1:80|pseud|" + key() + std::string(10 * 1024, '|'), '|'},
  };
  for (const auto& row : table) {
    SCOPED_TRACE(row.what);
    const std::string message = refusal_of(row.line);
    EXPECT_LE(longest_run(message, row.filler), 200u) << message.size() << " characters: " << message.substr(0, 400);
    EXPECT_LT(message.size(), 1000u) << message.substr(0, 400);
  }
}

// ---- shaped like a handshake --------------------------------------------------------

TEST(PluginHandshakeLine, LooksLikeAHandshake) {
  struct Row {
    std::string line;
    bool looks;
  };
  const std::vector<Row> table = {
      {"1|2|unix|/tmp/x/plugin.sock|pseud|" + key(), true},
      {"1|1|tcp|127.0.0.1:1234|pseud|" + key(), true},
      {"1|1|unix|/tmp/plugin123|grpc|MIIBkTCB", true},      // go-plugin
      {"1|1|tcp|127.0.0.1:1234|netrpc|", true},             // go-plugin
      {"1|1|tcp|127.0.0.1:1234", true},                     // rpcplugin, 4 fields
      {"1|1|unix|/tmp/plugin.sock|MIIBkTCB", true},         // rpcplugin, 5 fields
      {"1|12|tcp|127.0.0.1:1234|pseud|" + key(), true},     // a two-digit version
      {"", false},
      {"hello, world", false},
      {"1|1|unix", false},                                  // three fields
      {"1|x|unix|/tmp/x", false},                           // a version that is not digits
      {"1||unix|/tmp/x", false},
      {"2|1|unix|/tmp/x|pseud|" + key(), false},            // handshake version 2
      {"noise: 1|1|unix|/tmp/x|pseud|" + key(), false},
      {" 1|1|unix|/tmp/x|pseud|" + key(), false},
      {"INFO | starting | the plugin | now", false},
  };
  for (const auto& row : table) {
    EXPECT_EQ(looks_like_plugin_handshake(row.line), row.looks) << row.line;
  }
}

// ---- versions ----------------------------------------------------------------------------

TEST(PluginVersions, GoodListsParse) {
  struct Row {
    std::string text;
    std::vector<int> versions;
  };
  const std::vector<Row> table = {
      {"1", {1}},
      {"1,2", {1, 2}},
      {"2,3", {2, 3}},
      {" 1 , 2 ", {1, 2}},
      {"3,1,2", {3, 1, 2}},
      {"10", {10}},
  };
  for (const auto& row : table) {
    EXPECT_EQ(parse_plugin_versions(row.text, "PLUGIN_PROTOCOL_VERSIONS"), row.versions) << row.text;
  }
}

TEST(PluginVersions, BadListsAreRefusedNamingWhat) {
  const std::vector<std::string> table = {
      "", " ", ",", "1,", ",1", "1,,2", "a", "1,a", "1.5", "0", "-1", "+1", "1;2", "1 2", "0x1",
      "99999999999999999999",
  };
  for (const auto& text : table) {
    SCOPED_TRACE("'" + text + "'");
    try {
      const auto versions = parse_plugin_versions(text, "--versions");
      ADD_FAILURE() << "accepted, as " << plugin_versions_text(versions);
    } catch (const UsageError& e) {
      EXPECT_THAT(e.what(), HasSubstr("--versions"));
    }
  }
}

TEST(PluginVersions, TextAndHighestCommon) {
  EXPECT_EQ(plugin_versions_text({1, 2}), "1,2");
  EXPECT_EQ(plugin_versions_text({3}), "3");
  EXPECT_EQ(highest_common_version({1, 2}, {2, 3}), std::optional<int>(2));
  EXPECT_EQ(highest_common_version({1}, {2}), std::nullopt);
  EXPECT_EQ(highest_common_version({3, 1, 2}, {2, 1, 3}), std::optional<int>(3));
  EXPECT_EQ(highest_common_version({1, 2, 5}, {5, 4, 1}), std::optional<int>(5));
  EXPECT_EQ(highest_common_version({}, {1}), std::nullopt);
  EXPECT_EQ(highest_common_version({1}, {}), std::nullopt);
}

// ---- the cookie ----------------------------------------------------------------------------

TEST(PluginCookieParse, KeyEqualsValue) {
  struct Row {
    std::string text;
    std::string key;
    std::string value;
  };
  const std::vector<Row> table = {
      {"COUNTER_PLUGIN=hello", "COUNTER_PLUGIN", "hello"},
      {"K=a=b", "K", "a=b"},  // split at the first '='
      {"K=", "K", ""},
      {"_x1=value with spaces", "_x1", "value with spaces"},
  };
  for (const auto& row : table) {
    const PluginCookie cookie = PluginCookie::parse(row.text);
    EXPECT_EQ(cookie.key, row.key) << row.text;
    EXPECT_EQ(cookie.value, row.value) << row.text;
  }
  const std::vector<std::string> bad_cookies = {"no_equals", "", "=value", "1KEY=value", "MY KEY=value",
                                                std::string("K\0Y=v", 5)};
  for (const auto& bad : bad_cookies) {
    EXPECT_THROW(PluginCookie::parse(bad), UsageError) << "'" << bad << "'";
  }
}

}  // namespace
}  // namespace pseud::test
