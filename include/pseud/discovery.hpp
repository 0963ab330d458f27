#pragma once
/// Discovery: where the instances of a service are. A server publishes an
/// InstanceRecord while it serves; a client watches a service's records and
/// connects to instances as they come and go (pseud::ServiceClient).
///
/// Two backends: StaticDiscovery, an in-process table that needs nothing
/// (tests, one process, or a fixed list), and etcd (make_discovery("etcd://HOST:PORT"),
/// when pseud++ is built with it), where records live under a lease so that
/// a server that dies leaves the set by itself.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pseud {

/// One serving instance of a service, as a server publishes it. Stored as
/// JSON under /pseud/services/<service>/<instance> (etcd).
struct InstanceRecord {
  std::string service;                 ///< the service's name (the servers' name)
  std::string instance;                ///< unique within the service
  std::string routing_id;              ///< "<service>@<instance>" (filled in when published empty)
  std::vector<std::string> endpoints;  ///< where it is bound, 1 to 16
  std::string version;                 ///< the service's version ("1.4.2"), may be empty
  std::string curve_public_key;        ///< Z85, empty without CURVE
  std::string host;                    ///< host name, for people
  std::int64_t pid = 0;                ///< process id, for people
  std::string started;                 ///< UTC, ISO 8601, for people

  friend bool operator==(const InstanceRecord&, const InstanceRecord&) = default;
};

/// Publishes one record until withdrawn. Destroying it withdraws.
class Registration {
 public:
  virtual ~Registration() = default;
  /// Removes the record now (a server does this before it closes its
  /// socket). Bounded in time; idempotent.
  virtual void withdraw() = 0;
};

/// Keeps a watch alive; destroying it stops the callbacks (and waits for a running one).
class Watch {
 public:
  virtual ~Watch() = default;
};

struct RegistrationOptions {
  /// How long the record outlives its server's last sign of life (etcd lease TTL).
  std::chrono::seconds ttl{10};
};

/// Where instances are published and found. Every member may be called
/// from any thread. Names are 1 to 1024 printable bytes without '/'; every
/// string field at most 1024 bytes.
class Discovery {
 public:
  virtual ~Discovery() = default;

  /// Publishes `record` (it is checked: service, instance and at least one
  /// endpoint are required) until the returned registration is withdrawn or
  /// destroyed. Throws UsageError for a bad record, DiscoveryError when the
  /// backend cannot be reached at all.
  virtual std::unique_ptr<Registration> register_instance(InstanceRecord record, RegistrationOptions options = {}) = 0;

  /// The instances of `service` now. Throws DiscoveryError when the backend cannot be reached.
  virtual std::vector<InstanceRecord> lookup(std::string_view service) = 0;

  /// Every instance of every service now, ordered by service and instance
  /// (bounded as a lookup is: what is beyond the bounds is left out and
  /// logged). Throws DiscoveryError when the backend cannot be reached.
  virtual std::vector<InstanceRecord> lookup_all() = 0;

  /// Calls `on_change` with the whole current set of `service`'s instances,
  /// once soon after the call and again after every change, from a thread
  /// of the backend, until the Watch is destroyed. While the backend cannot
  /// be reached the last set stands (and the backend logs it); a watch made
  /// while it cannot be reached calls back first when it can. What the
  /// callback throws is logged and dropped.
  virtual std::unique_ptr<Watch> watch(std::string service,
                                       std::function<void(const std::vector<InstanceRecord>&)> on_change) = 0;
};

/// The in-process backend: a table shared by whoever holds the object.
/// Registrations and watches see each other at once.
std::shared_ptr<Discovery> make_static_discovery();

/// A backend from its address: "static" (a new in-process table) or
/// "etcd://HOST:PORT" (etcd's v3 JSON gateway; needs pseud++ built with etcd).
/// Throws UsageError for an address it does not understand.
std::shared_ptr<Discovery> make_discovery(std::string_view address);

}  // namespace pseud
