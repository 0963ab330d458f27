#pragma once
// The demo functions `pseud serve` and `pseud call --serve` offer, the same
// set Python pseud's examples and our interop tests use.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "pseud/peer.hpp"

namespace pseud::cli {

/// Registers echo, echo_args, add, greet, fail, fail_custom, sleep, blob,
/// whoami, string.upper, string.lower, note and count_notified (a count of
/// note() runs, for notifications), power (default and "restricted"
/// domains) and admin.only ("restricted" only; the domain requires the
/// "admin" permission), and the handler-form demos below.
void register_demo_functions(Peer& peer);

/// Most milliseconds deferred_echo waits before it replies.
inline constexpr std::int64_t max_deferred_delay_ms = 60'000;

/// Registers deferred_echo(value, delay_ms), ack_only(), nack_me(),
/// drop_channel(), declared_error(message) and undeclared_error(message):
/// the ReplyChannel answers and declared or undeclared exceptions; and
/// relay_add (below).
void register_handler_form_demos(Peer& peer);

/// Most endpoints relay_add keeps a client for, in the whole process.
inline constexpr std::size_t max_relay_endpoints = 16;

/// Registers relay_add(endpoint, a, b, server_name="server"), a coroutine
/// handler that calls add(a, b) on the server at `endpoint`.
void register_relay_demo(Peer& peer);

/// Registers call_me_back(func, *args, **kwargs) on a server: it schedules
/// send_to(caller).func(*args, **kwargs) and returns at once; `report` gets
/// one JSON line with the outcome.
void register_call_me_back(Server& server, std::function<void(const std::string& line)> report);

}  // namespace pseud::cli
