// Layer 7 (discovery): the checks of a record a caller publishes, and of names used in keys.
#include "discovery/record_check.hpp"

#include "discovery/limits.hpp"
#include "pseud/errors.hpp"

namespace pseud::detail::discovery {

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw UsageError("discovery: cannot publish this record: " + what);
}

}  // namespace

bool printable(std::string_view text) noexcept {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return false;
  }
  return true;
}

bool valid_name(std::string_view name) noexcept {
  return !name.empty() && name.size() <= max_field_bytes && printable(name) &&
         name.find('/') == std::string_view::npos;
}

void check_publishable(InstanceRecord& record) {
  require(valid_name(record.service), "the service name must be 1 to " + std::to_string(max_field_bytes) +
                                          " printable bytes without '/' (it is \"" +
                                          record.service.substr(0, 64) + "\")");
  require(valid_name(record.instance), "the instance name must be 1 to " + std::to_string(max_field_bytes) +
                                           " printable bytes without '/' (it is \"" +
                                           record.instance.substr(0, 64) + "\")");
  if (record.routing_id.empty()) record.routing_id = record.service + "@" + record.instance;
  require(!record.endpoints.empty(), "list at least one endpoint");
  require(record.endpoints.size() <= max_endpoints,
          "at most " + std::to_string(max_endpoints) + " endpoints, not " + std::to_string(record.endpoints.size()));
  for (const auto& endpoint : record.endpoints) {
    require(!endpoint.empty() && endpoint.size() <= max_field_bytes && printable(endpoint),
            "an endpoint is empty, not printable or longer than " + std::to_string(max_field_bytes) + " bytes");
  }
  for (const std::string* field : {&record.routing_id, &record.version, &record.curve_public_key, &record.host,
                                   &record.started}) {
    require(field->size() <= max_field_bytes,
            "a field is longer than " + std::to_string(max_field_bytes) + " bytes: \"" + field->substr(0, 64) + "...\"");
  }
}

}  // namespace pseud::detail::discovery
