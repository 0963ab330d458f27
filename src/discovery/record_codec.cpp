// Layer 7 (discovery): InstanceRecord <-> JSON; a record read is checked field by field.
#include "discovery/record_codec.hpp"

#include <cstdint>
#include <limits>

#include "discovery/bounded_json.hpp"
#include "discovery/limits.hpp"
#include "discovery/record_check.hpp"

namespace pseud::detail::discovery {

namespace {

using nlohmann::json;

// Reads the string field `name` of `object` into `out`; false with `why` set otherwise.
bool read_string(const json& object, const char* name, std::string& out, std::string& why) {
  const auto it = object.find(name);
  if (it == object.end()) {
    why = std::string("the field \"") + name + "\" is missing";
    return false;
  }
  if (!it->is_string()) {
    why = std::string("the field \"") + name + "\" is not a string";
    return false;
  }
  const auto& text = it->get_ref<const std::string&>();
  if (text.size() > max_field_bytes) {
    why = std::string("the field \"") + name + "\" is longer than " + std::to_string(max_field_bytes) + " bytes";
    return false;
  }
  if (!printable(text)) {
    why = std::string("the field \"") + name + "\" holds control characters";
    return false;
  }
  out = text;
  return true;
}

bool read_endpoints(const json& object, std::vector<std::string>& out, std::string& why) {
  const auto it = object.find("endpoints");
  if (it == object.end()) {
    why = "the field \"endpoints\" is missing";
    return false;
  }
  if (!it->is_array()) {
    why = "the field \"endpoints\" is not an array";
    return false;
  }
  if (it->empty() || it->size() > max_endpoints) {
    why = "\"endpoints\" must list 1 to " + std::to_string(max_endpoints) + " endpoints, not " +
          std::to_string(it->size());
    return false;
  }
  for (const auto& endpoint : *it) {
    if (!endpoint.is_string()) {
      why = "an endpoint is not a string";
      return false;
    }
    const auto& text = endpoint.get_ref<const std::string&>();
    if (text.empty() || text.size() > max_field_bytes || !printable(text)) {
      why = "an endpoint is empty, longer than " + std::to_string(max_field_bytes) + " bytes or not printable";
      return false;
    }
    out.push_back(text);
  }
  return true;
}

bool read_pid(const json& object, std::int64_t& out, std::string& why) {
  const auto it = object.find("pid");
  if (it == object.end()) {
    why = "the field \"pid\" is missing";
    return false;
  }
  if (it->is_number_unsigned()) {
    const auto value = it->get<std::uint64_t>();
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      why = "the field \"pid\" is out of range";
      return false;
    }
    out = static_cast<std::int64_t>(value);
    return true;
  }
  if (it->is_number_integer()) {
    out = it->get<std::int64_t>();
    return true;
  }
  why = "the field \"pid\" is not an integer";
  return false;
}

}  // namespace

std::string encode_record(const InstanceRecord& record) {
  json object = {
      {"service", record.service},
      {"instance", record.instance},
      {"routing_id", record.routing_id},
      {"endpoints", record.endpoints},
      {"version", record.version},
      {"curve_public_key", record.curve_public_key},
      {"host", record.host},
      {"pid", record.pid},
      {"started", record.started},
  };
  // Replace invalid UTF-8 rather than throw: every field was checked printable.
  return object.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<InstanceRecord> decode_record(std::string_view text, std::string& why) noexcept {
  try {
    if (text.size() > max_record_bytes) {
      why = "the record is longer than " + std::to_string(max_record_bytes) + " bytes";
      return std::nullopt;
    }
    const auto value = parse_bounded_json(text);
    if (!value) {
      why = "the record is not valid JSON (or nested too deep)";
      return std::nullopt;
    }
    if (!value->is_object()) {
      why = "the record is not a JSON object";
      return std::nullopt;
    }
    InstanceRecord record;
    if (!read_string(*value, "service", record.service, why) || !read_string(*value, "instance", record.instance, why) ||
        !read_string(*value, "routing_id", record.routing_id, why) || !read_endpoints(*value, record.endpoints, why) ||
        !read_string(*value, "version", record.version, why) ||
        !read_string(*value, "curve_public_key", record.curve_public_key, why) ||
        !read_string(*value, "host", record.host, why) || !read_pid(*value, record.pid, why) ||
        !read_string(*value, "started", record.started, why)) {
      return std::nullopt;
    }
    if (!valid_name(record.service) || !valid_name(record.instance)) {
      why = "the service or instance name is empty, not printable or holds '/'";
      return std::nullopt;
    }
    return record;
  } catch (...) {
    why = "the record could not be read (out of memory?)";
    return std::nullopt;
  }
}

}  // namespace pseud::detail::discovery
