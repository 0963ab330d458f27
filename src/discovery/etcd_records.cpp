// Layer 7 (discovery): the etcd key layout and the reading of a service's records.
#include "discovery/etcd_records.hpp"

#include <algorithm>
#include <optional>

#include "discovery/record_codec.hpp"
#include "log.hpp"

namespace pseud::detail::discovery {

namespace {

std::string printable_excerpt(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 120)) {
    const auto byte = static_cast<unsigned char>(c);
    out += byte >= 0x20 && byte < 0x7f ? c : '?';
  }
  return out;
}

}  // namespace

std::string all_services_prefix() { return "/pseud/services/"; }

std::string service_prefix(std::string_view service) { return all_services_prefix() + std::string(service) + "/"; }

std::string instance_key(std::string_view service, std::string_view instance) {
  return service_prefix(service) + std::string(instance);
}

namespace {

// The record `value` stored under `key`, when it is valid JSON naming the
// service and instance `key` names; else nothing (and it is logged).
std::optional<InstanceRecord> checked_record(const std::string& key, const std::string& value, std::string_view service,
                                             std::string_view address) {
  const std::string prefix = service_prefix(service);
  std::string why;
  auto record = decode_record(value, why);
  if (record && (key.compare(0, prefix.size(), prefix) != 0 || record->service != service ||
                 record->instance != std::string_view(key).substr(prefix.size()))) {
    why = "it names another service or instance than its key";
    record.reset();
  }
  if (!record) {
    log(LogLevel::warning, "discovery: skipped the record under ", printable_excerpt(key), " at etcd ", address, ": ",
        why);
  }
  return record;
}

}  // namespace

std::vector<InstanceRecord> records_from(const std::map<std::string, std::string>& pairs, std::string_view service,
                                         std::string_view address) {
  std::vector<InstanceRecord> records;
  records.reserve(pairs.size());
  for (const auto& [key, value] : pairs) {
    if (auto record = checked_record(key, value, service, address)) records.push_back(std::move(*record));
  }
  return records;
}

std::vector<InstanceRecord> records_of_all_services(const std::map<std::string, std::string>& pairs,
                                                    std::string_view address) {
  const std::string prefix = all_services_prefix();
  std::vector<InstanceRecord> records;
  records.reserve(pairs.size());
  for (const auto& [key, value] : pairs) {
    // The service is the key's part between the prefix and the next '/'.
    const std::string_view rest = std::string_view(key).substr(std::min(key.size(), prefix.size()));
    const std::size_t slash = rest.find('/');
    const std::string_view service = slash == std::string_view::npos ? std::string_view() : rest.substr(0, slash);
    if (auto record = checked_record(key, value, service, address)) records.push_back(std::move(*record));
  }
  return records;
}

}  // namespace pseud::detail::discovery
