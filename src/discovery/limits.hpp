#pragma once
// Layer 7 (discovery): the bounds every discovery backend keeps, in one place.

#include <chrono>
#include <cstddef>

namespace pseud::detail::discovery {

/// Longest string field of an InstanceRecord (bytes).
inline constexpr std::size_t max_field_bytes = 1024;
/// Most endpoints one record may list.
inline constexpr std::size_t max_endpoints = 16;
/// Longest encoded record (bytes); a record is refused beyond it.
inline constexpr std::size_t max_record_bytes = 64 * 1024;
/// Deepest JSON nesting accepted from a backend.
inline constexpr int max_json_depth = 32;

/// Static table: records per service and in all.
inline constexpr std::size_t max_records_per_service = 10'000;
inline constexpr std::size_t max_records_total = 100'000;
/// Static table: live watches.
inline constexpr std::size_t max_watches = 1'024;

/// etcd: the largest HTTP response body read, and the longest watch line.
inline constexpr std::size_t max_response_bytes = 4 * 1024 * 1024;
inline constexpr std::size_t max_watch_line_bytes = 4 * 1024 * 1024;
/// etcd: records read from one service's prefix (more are logged and left out).
inline constexpr std::size_t max_records_read = max_records_per_service;
/// etcd: time limits of one unary HTTP call.
inline constexpr std::chrono::milliseconds connect_timeout{1000};
inline constexpr std::chrono::milliseconds request_timeout{2000};
/// etcd: time between tries while etcd cannot be reached.
inline constexpr std::chrono::milliseconds retry_interval{250};
/// etcd: the whole of withdraw() (delete the key, revoke the lease).
inline constexpr std::chrono::milliseconds withdraw_budget{2000};
/// etcd: lease TTLs accepted from RegistrationOptions.
inline constexpr std::chrono::seconds min_ttl{1};
inline constexpr std::chrono::seconds max_ttl{3600};

}  // namespace pseud::detail::discovery
