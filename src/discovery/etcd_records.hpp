#pragma once
// Layer 7 (discovery): where records live in etcd, and the records of one
// service read from a prefix's keys (bad ones skipped and logged).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "pseud/discovery.hpp"

namespace pseud::detail::discovery {

/// "/pseud/services/<service>/".
std::string service_prefix(std::string_view service);

/// "/pseud/services/": the prefix of every service.
std::string all_services_prefix();

/// "/pseud/services/<service>/<instance>".
std::string instance_key(std::string_view service, std::string_view instance);

/// The valid records among `pairs` (key -> JSON) read under
/// service_prefix(service), ordered by key. A record that is not valid
/// JSON, or does not name the service and instance of its key, is skipped
/// and logged, naming `address`.
std::vector<InstanceRecord> records_from(const std::map<std::string, std::string>& pairs, std::string_view service,
                                         std::string_view address);

/// The valid records among `pairs` read under all_services_prefix(), each
/// checked against the service and instance its key names; ordered by key.
std::vector<InstanceRecord> records_of_all_services(const std::map<std::string, std::string>& pairs,
                                                    std::string_view address);

}  // namespace pseud::detail::discovery
