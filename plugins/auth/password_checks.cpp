#include "password_checks.hpp"

#include <charconv>
#include <cmath>
#include <string>

#include "handshake_server.hpp"

namespace pseud::plugins {

namespace {

template <class Number>
Number read_number(const Settings& settings, std::string_view backend, std::string_view name, Number fallback) {
  const auto text = settings.get(name);
  if (!text) return fallback;
  Number value{};
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc{} || end != text->data() + text->size() || !(value > Number{0})) {
    throw UsageError(std::string(backend) + ": " + std::string(name) + " must be a positive number, not '" + *text +
                     "'");
  }
  return value;
}

CheckLimits limits_from(const Settings& settings, std::string_view backend) {
  CheckLimits limits;
  limits.in_flight = read_number(settings, backend, "max_checks", limits.in_flight);
  limits.in_flight_per_address = read_number(settings, backend, "max_checks_per_address", limits.in_flight_per_address);
  limits.per_second_per_address =
      read_number(settings, backend, "checks_per_second_per_address", limits.per_second_per_address);
  limits.burst_per_address = read_number(settings, backend, "check_burst_per_address", limits.burst_per_address);
  if (limits.burst_per_address < 1) throw UsageError(std::string(backend) + ": check_burst_per_address must be at least 1");
  return limits;
}

}  // namespace

PasswordChecks::PasswordChecks(const Settings& settings, std::string_view backend)
    : limiter_(limits_from(settings, backend)) {
  load_users(settings, backend, users_);
}

PasswordChecks::Admission PasswordChecks::admit(std::string_view address, std::size_t login_size,
                                                std::size_t password_size) {
  if (login_size > limits().max_login || password_size > limits().max_password) {
    refused_oversize_.fetch_add(1, std::memory_order_relaxed);
    return Admission::oversize;
  }
  switch (limiter_.admit(address)) {
    case CheckLimiter::Admission::admitted:
      return Admission::admitted;
    case CheckLimiter::Admission::busy:
      refused_busy_.fetch_add(1, std::memory_order_relaxed);
      return Admission::busy;
    case CheckLimiter::Admission::address_busy:
    case CheckLimiter::Admission::address_too_fast:
      break;
  }
  refused_by_address_.fetch_add(1, std::memory_order_relaxed);
  return Admission::by_address;
}

bool PasswordChecks::verify_admitted(std::string_view address, std::string_view login, std::string_view password) {
  bool accepted = false;
  try {
    accepted = users_.verify(login, password);
  } catch (...) {
    limiter_.release(address);
    throw;
  }
  checks_.fetch_add(1, std::memory_order_relaxed);
  limiter_.release(address);
  return accepted;
}

void PasswordChecks::release(std::string_view address, bool busy) {
  if (busy) refused_busy_.fetch_add(1, std::memory_order_relaxed);
  limiter_.release(address);
}

AuthStats PasswordChecks::stats() const noexcept {
  AuthStats stats;
  stats.checks = checks_.load(std::memory_order_relaxed);
  stats.refused_busy = refused_busy_.load(std::memory_order_relaxed);
  stats.refused_by_address = refused_by_address_.load(std::memory_order_relaxed);
  stats.refused_oversize = refused_oversize_.load(std::memory_order_relaxed);
  return stats;
}

const char* PasswordChecks::refusal_text(Admission admission) noexcept {
  switch (admission) {
    case Admission::admitted:
      return "admitted";
    case Admission::busy:
      return "too many logins are being checked";
    case Admission::by_address:
      return "too many logins from this address";
    case Admission::oversize:
      return "login or password too long";
  }
  return "refused";
}

}  // namespace pseud::plugins
