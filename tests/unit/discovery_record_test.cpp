// Discovery records as JSON: round trips, and hostile JSON refused without a crash.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "discovery/base64.hpp"
#include "discovery/bounded_json.hpp"
#include "discovery/etcd_api.hpp"
#include "discovery/limits.hpp"
#include "discovery/record_check.hpp"
#include "discovery/record_codec.hpp"
#include "pseud/errors.hpp"

namespace {

using namespace pseud::detail::discovery;
using nlohmann::json;

pseud::InstanceRecord sample() {
  pseud::InstanceRecord record;
  record.service = "echo";
  record.instance = "a1";
  record.routing_id = "echo@a1";
  record.endpoints = {"tcp://127.0.0.1:5555", "ipc:///tmp/echo"};
  record.version = "1.4.2";
  record.curve_public_key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
  record.host = "h\xc3\xa9te";  // UTF-8
  record.pid = 4242;
  record.started = "2026-12-06T09:00:00Z";
  return record;
}

json sample_json() { return json::parse(encode_record(sample())); }

std::optional<pseud::InstanceRecord> decode(const std::string& text) {
  std::string why;
  auto record = decode_record(text, why);
  if (!record) {
    EXPECT_FALSE(why.empty()) << "a refusal says why";
  }
  return record;
}

TEST(DiscoveryRecord, RoundTrip) {
  std::string why;
  const auto record = decode_record(encode_record(sample()), why);
  ASSERT_TRUE(record) << why;
  EXPECT_EQ(*record, sample());
}

TEST(DiscoveryRecord, FieldsAreTheDocumentedOnes) {
  const json object = sample_json();
  for (const char* field :
       {"service", "instance", "routing_id", "endpoints", "version", "curve_public_key", "host", "pid", "started"}) {
    EXPECT_TRUE(object.contains(field)) << field;
  }
  EXPECT_EQ(object.size(), 9u);
  EXPECT_TRUE(object["pid"].is_number_integer());
  EXPECT_TRUE(object["endpoints"].is_array());
}

TEST(DiscoveryRecord, UnknownFieldsAreIgnored) {
  json object = sample_json();
  object["weight"] = 3;
  EXPECT_TRUE(decode(object.dump()));
}

TEST(DiscoveryRecord, EveryFieldIsRequired) {
  const json full = sample_json();
  for (const auto& [field, value] : full.items()) {
    json object = full;
    object.erase(field);
    EXPECT_FALSE(decode(object.dump())) << "without " << field;
  }
}

TEST(DiscoveryRecord, WrongTypesAreRefused) {
  const json full = sample_json();
  for (const auto& [field, value] : full.items()) {
    for (const json& wrong : {json(nullptr), json(true), json(1.5), json::object(), json::array({1}), json("x")}) {
      if (wrong.type() == value.type() || (field == "endpoints" && wrong.is_array())) continue;
      json object = sample_json();
      object[field] = wrong;
      EXPECT_FALSE(decode(object.dump())) << field << " = " << wrong.dump();
    }
  }
  json object = sample_json();
  object["endpoints"] = json::array({"tcp://127.0.0.1:1", 7});
  EXPECT_FALSE(decode(object.dump()));
}

TEST(DiscoveryRecord, MalformedJsonIsRefused) {
  for (const char* text : {"", "{", "nul", "[]", "\"echo\"", "42", "{\"service\":}", "{} {}", "\xff\xfe"}) {
    EXPECT_FALSE(decode(text)) << text;
  }
}

TEST(DiscoveryRecord, OversizeIsRefused) {
  json object = sample_json();
  object["host"] = std::string(max_field_bytes + 1, 'x');
  EXPECT_FALSE(decode(object.dump()));
  object = sample_json();
  object["host"] = std::string(max_field_bytes, 'x');
  EXPECT_TRUE(decode(object.dump()));

  object = sample_json();
  object["endpoints"] = json::array();
  for (std::size_t i = 0; i <= max_endpoints; ++i) object["endpoints"].push_back("tcp://127.0.0.1:" + std::to_string(i + 1));
  EXPECT_FALSE(decode(object.dump()));
  object["endpoints"] = json::array();
  EXPECT_FALSE(decode(object.dump()));

  object = sample_json();
  object["padding"] = std::string(max_record_bytes, ' ');
  EXPECT_FALSE(decode(object.dump()));
}

TEST(DiscoveryRecord, HugeNumbersAreRefused) {
  for (const char* pid : {"1e300", "18446744073709551616", "18446744073709551615", "-1.5", "99999999999999999999999"}) {
    std::string text = sample_json().dump();
    const auto at = text.find("\"pid\":4242");
    ASSERT_NE(at, std::string::npos);
    text.replace(at, 10, std::string("\"pid\":") + pid);
    EXPECT_FALSE(decode(text)) << pid;
  }
}

TEST(DiscoveryRecord, DeepNestingIsRefusedWithoutRecursion) {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  EXPECT_FALSE(decode(deep));
  EXPECT_FALSE(parse_bounded_json(deep));
  json object = sample_json();
  std::string text = object.dump();
  text.insert(text.size() - 1, ",\"x\":" + std::string(100, '[') + std::string(100, ']'));
  EXPECT_FALSE(decode(text));
  EXPECT_TRUE(parse_bounded_json("{\"a\":[[[1]]], \"b\":\"[[[[[[[[\"}"));
}

TEST(DiscoveryRecord, BadNamesAndControlCharactersAreRefused) {
  for (const auto& [field, bad] : std::vector<std::pair<std::string, std::string>>{
           {"service", ""}, {"instance", ""}, {"instance", "a/b"}, {"service", "x\ny"}, {"routing_id", "a\x01"}}) {
    json object = sample_json();
    object[field] = bad;
    EXPECT_FALSE(decode(object.dump())) << field;
  }
}

TEST(DiscoveryRecord, PublishableChecks) {
  auto record = sample();
  record.routing_id.clear();
  check_publishable(record);
  EXPECT_EQ(record.routing_id, "echo@a1");
  auto expect_refused = [](pseud::InstanceRecord r) { EXPECT_THROW(check_publishable(r), pseud::UsageError); };
  record = sample();
  record.service.clear();
  expect_refused(record);
  record = sample();
  record.instance = "a/b";
  expect_refused(record);
  record = sample();
  record.endpoints.clear();
  expect_refused(record);
  record = sample();
  record.endpoints.assign(max_endpoints + 1, "tcp://127.0.0.1:1");
  expect_refused(record);
  record = sample();
  record.version.assign(max_field_bytes + 1, '1');
  expect_refused(record);
}

TEST(DiscoveryBase64, RoundTripAndStrictDecoding) {
  for (const std::string& bytes : {std::string(), std::string("a"), std::string("ab"), std::string("abc"),
                                  std::string("/pseud/services/echo/"), std::string("\0\xff\x10", 3)}) {
    const auto decoded = base64_decode(base64_encode(bytes));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, bytes);
  }
  EXPECT_EQ(base64_encode("a"), "YQ==");
  EXPECT_EQ(base64_encode("ab"), "YWI=");
  for (const char* bad : {"YQ=", "Y===", "YQ==YQ==", "Y!==", "====", "YQ"}) EXPECT_FALSE(base64_decode(bad)) << bad;
}

TEST(DiscoveryKeys, PrefixRangeEnd) {
  EXPECT_EQ(prefix_range_end("/pseud/services/echo/"), "/pseud/services/echo0");
  EXPECT_EQ(prefix_range_end(std::string("a\xff", 2)), "b");
}

}  // namespace
