// Layer 7 (discovery): the etcd backend: registrations, lookups and watches.
#include "discovery/etcd_discovery.hpp"

#include <map>

#include "discovery/etcd_api.hpp"
#include "discovery/etcd_records.hpp"
#include "discovery/etcd_registration.hpp"
#include "discovery/etcd_watch_loop.hpp"
#include "discovery/limits.hpp"
#include "discovery/record_check.hpp"
#include "discovery/record_codec.hpp"
#include "log.hpp"
#include "pseud/errors.hpp"

namespace pseud::detail::discovery {

namespace {

std::string what_to_do(const EtcdApi& api) {
  return "; check that etcd runs and serves clients at " + api.address() +
         " (etcd --listen-client-urls/--advertise-client-urls http://" + api.address() + ")";
}

void require_service_name(std::string_view service, const char* call) {
  if (!valid_name(service)) {
    throw UsageError(std::string("discovery: ") + call + ": \"" + std::string(service.substr(0, 64)) +
                     "\" is not a service name (1 to 1024 printable bytes without '/')");
  }
}

class EtcdWatch final : public Watch {
 public:
  EtcdWatch(std::shared_ptr<const EtcdApi> api, std::string service,
            std::function<void(const std::vector<InstanceRecord>&)> on_change) {
    const std::string address = api->address();
    auto handler = [service, address, on_change = std::move(on_change), last = std::vector<InstanceRecord>(),
                    delivered = false](const EtcdWatchLoop::Contents& contents, std::int64_t) mutable {
      auto now = records_from(contents, service, address);
      if (delivered && now == last) return;
      last = std::move(now);
      delivered = true;
      try {
        on_change(last);
      } catch (const std::exception& e) {
        log(LogLevel::error, "discovery: a watch callback of '", service, "' threw: ", e.what());
      } catch (...) {
        log(LogLevel::error, "discovery: a watch callback of '", service, "' threw a non-standard exception");
      }
    };
    loop_ = std::make_unique<EtcdWatchLoop>(std::move(api), service_prefix(service), "the watch of '" + service + "'",
                                            EtcdWatchLoop::Handler{std::move(handler), nullptr});
  }

 private:
  std::unique_ptr<EtcdWatchLoop> loop_;
};

class EtcdDiscovery final : public Discovery {
 public:
  EtcdDiscovery(std::string host, int port) : api_(std::make_shared<const EtcdApi>(std::move(host), port)) {}

  std::unique_ptr<Registration> register_instance(InstanceRecord record, RegistrationOptions options) override {
    check_publishable(record);
    if (options.ttl < min_ttl || options.ttl > max_ttl) {
      throw UsageError("discovery: a registration's TTL must be " + std::to_string(min_ttl.count()) + " to " +
                       std::to_string(max_ttl.count()) + " s, not " + std::to_string(options.ttl.count()));
    }
    std::string key = instance_key(record.service, record.instance);
    try {
      return make_etcd_registration(api_, std::move(key), encode_record(record), options.ttl);
    } catch (const EtcdError& e) {
      throw DiscoveryError("discovery: cannot register " + record.routing_id + ": " + e.what() + what_to_do(*api_));
    }
  }

  std::vector<InstanceRecord> lookup(std::string_view service) override {
    require_service_name(service, "lookup");
    const std::string what = "'" + std::string(service) + "'";
    return records_from(read_prefix(service_prefix(service), max_records_read, what), service, api_->address());
  }

  std::vector<InstanceRecord> lookup_all() override {
    return records_of_all_services(read_prefix(all_services_prefix(), max_records_total, "every service"),
                                   api_->address());
  }

  std::unique_ptr<Watch> watch(std::string service,
                               std::function<void(const std::vector<InstanceRecord>&)> on_change) override {
    require_service_name(service, "watch");
    if (!on_change) throw UsageError("discovery: watch('" + service + "') needs a callback");
    return std::make_unique<EtcdWatch>(api_, std::move(service), std::move(on_change));
  }

 private:
  // The keys under `prefix` (at most `limit`; more are logged and left out).
  std::map<std::string, std::string> read_prefix(const std::string& prefix, std::size_t limit, const std::string& what) {
    try {
      const RangeAnswer range = api_->range_prefix(prefix, limit, request_timeout);
      if (range.truncated) {
        log(LogLevel::warning, "discovery: ", what, " has more than ", limit, " instances at etcd ", api_->address(),
            "; the rest are left out");
      }
      std::map<std::string, std::string> pairs;
      for (const auto& pair : range.pairs) pairs[pair.key] = pair.value;
      return pairs;
    } catch (const EtcdError& e) {
      throw DiscoveryError("discovery: cannot look up " + what + ": " + e.what() + what_to_do(*api_));
    }
  }

  std::shared_ptr<const EtcdApi> api_;
};

}  // namespace

std::shared_ptr<Discovery> make_etcd_discovery(std::string host, int port) {
  return std::make_shared<EtcdDiscovery>(std::move(host), port);
}

}  // namespace pseud::detail::discovery
