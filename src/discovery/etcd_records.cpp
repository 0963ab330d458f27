// Layer 7 (discovery): the etcd key layout and the reading of a service's records.
#include "discovery/etcd_records.hpp"

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

std::string service_prefix(std::string_view service) { return "/pseud/services/" + std::string(service) + "/"; }

std::string instance_key(std::string_view service, std::string_view instance) {
  return service_prefix(service) + std::string(instance);
}

std::vector<InstanceRecord> records_from(const std::map<std::string, std::string>& pairs, std::string_view service,
                                         std::string_view address) {
  const std::string prefix = service_prefix(service);
  std::vector<InstanceRecord> records;
  records.reserve(pairs.size());
  for (const auto& [key, value] : pairs) {
    std::string why;
    auto record = decode_record(value, why);
    if (record && (key.compare(0, prefix.size(), prefix) != 0 || record->service != service ||
                   record->instance != std::string_view(key).substr(prefix.size()))) {
      why = "it names another service or instance than its key";
      record.reset();
    }
    if (!record) {
      log(LogLevel::warning, "discovery: skipped the record under ", printable_excerpt(key), " at etcd ", address,
          ": ", why);
      continue;
    }
    records.push_back(std::move(*record));
  }
  return records;
}

}  // namespace pseud::detail::discovery
