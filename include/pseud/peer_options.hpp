#pragma once
/// What configures a peer and what it reports: PeerOptions, PeerStats and
/// PeerInfo. Below peer.hpp, so that the layers under the peer (the engine,
/// the backends) can read a peer's settings without the Peer class.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "pseud/caller.hpp"
#include "pseud/interceptor.hpp"
#include "pseud/registry.hpp"
#include "pseud/settings.hpp"

namespace pseud {

/// A connected, authenticated peer, as join and gone events report it.
struct PeerInfo {
  std::string routing_id;
  std::string user_id;  ///< the authenticated user; empty without authentication
  /// A client's server: the routing id the server announces for itself (its
  /// name, or "<name>@<instance>"), learned from its first message; empty
  /// before that, and over inproc. The client addresses it as `routing_id`
  /// (the server's name) either way.
  std::string announced_routing_id{};
};

/// What Peer::notify does when a destination's outbox is full.
enum class OutboxOverflow {
  fail,         ///< notify() throws OutboxFullError; nothing is dropped
  drop_new,     ///< the new notification is dropped (notify() returns false)
  drop_oldest,  ///< the destination's oldest waiting notification makes room
};

/// Where notifications wait while their destination cannot take them
/// (Target::notify). In memory only: what waits is lost when the process
/// ends. Bounded per destination and in all, in count and in bytes; every
/// notification dropped, expired or abandoned at stop is counted in PeerStats.
struct OutboxOptions {
  std::size_t max_messages_per_destination = 10000;
  std::size_t max_bytes_per_destination = 16 * 1024 * 1024;
  std::size_t max_messages = 100000;
  std::size_t max_bytes = 64 * 1024 * 1024;
  OutboxOverflow overflow = OutboxOverflow::fail;
  /// A notification not sent within this is dropped (counted as expired). Unset: kept until sent or stopped.
  std::optional<std::chrono::milliseconds> ttl{};
  /// Notifications sent and not answered yet (their OK or ERROR is awaited
  /// only to count failures); more wait in the outbox.
  std::size_t max_unanswered = 10000;
};

/// Settings of one peer.
struct PeerOptions {
  /// Authentication backend and its settings ("noop", "plain", "trusted_curve",
  /// "untrusted_curve", or a registered plugin's name).
  BackendChoice auth{};
  /// Heartbeat backend and its settings ("noop" or "liveness").
  BackendChoice heartbeat{};
  /// Called on the engine thread when a peer connects and authenticates. Keep it short.
  std::function<void(const PeerInfo&)> on_peer_joined{};
  /// Called on the engine thread when a peer is gone, with the reason. Keep it short.
  std::function<void(const PeerInfo&, const std::string& reason)> on_peer_gone{};
  /// Called with every exception a handler raised that is not part of its
  /// function's contract (RpcOptions::raises; a function registered without
  /// `raises` has none, so each of its exceptions is reported): the place to
  /// log what the caller is not told. On the thread that ran the handler.
  std::function<void(const std::string& function, const Caller& caller, std::exception_ptr error)>
      on_handler_error{};
  /// Timeout of a call that sets neither timeout nor deadline (pseud's default).
  std::chrono::milliseconds default_timeout{5000};
  /// Largest message accepted or sent, all frames together. Larger inbound
  /// frames make libzmq drop the connection; larger outbound calls fail with
  /// MessageTooLargeError before anything is sent.
  std::size_t max_message_size = 4 * 1024 * 1024;
  /// Messages queued per connection in each direction (ZMQ_SNDHWM and
  /// ZMQ_RCVHWM). libzmq returns send credit in halves of this, so it must be
  /// well above the number of calls kept in flight. A call that finds the
  /// queue full waits (within its timeout) for room; a reply that finds it
  /// full is dropped and counted in PeerStats::unroutable_replies.
  int queue_limit = 10000;
  /// A connection that sends more than this many malformed messages (those
  /// counted in PeerStats::malformed_messages) within one second is closed,
  /// and what it still had queued is dropped unread: a flood of hostile frames
  /// then costs the peer a reconnection per burst instead of its whole CPU.
  /// 0: never close. (inproc connections have no descriptor to close.)
  std::uint32_t malformed_limit = 100;
  /// Client: a call made while the server cannot be reached (nothing
  /// listens at its endpoint yet, or the connection was lost) fails at once
  /// with PeerUnreachableError instead of waiting, within its timeout, for
  /// the connection. A refused handshake fails calls at once either way.
  bool fail_fast = false;
  /// A connection must complete its ZMTP handshake (security included)
  /// within this, or libzmq closes it (ZMQ_HANDSHAKE_IVL; libzmq's own
  /// default is 30 s). With a heartbeat backend that has a silence limit
  /// (liveness), a server also closes connections that have sent nothing
  /// within this plus that limit.
  std::chrono::milliseconds handshake_timeout{10000};
  /// Requests one caller may have in this peer's hands at once: queued for
  /// or running on a worker thread, or a large body being decoded. More are
  /// refused at once, unrun, with an ERROR of class OverloadedError.
  std::size_t max_requests_per_peer = 1000;
  /// Bytes those requests may hold (bodies and decoded values), per caller...
  std::size_t max_request_bytes_per_peer = 64 * 1024 * 1024;
  /// ... and for all callers together.
  std::size_t max_request_bytes = 128 * 1024 * 1024;
  /// Threads running handlers registered `blocking`.
  std::size_t worker_threads = 4;
  /// Put a description of the C++ exception in ERROR replies (off: the traceback is empty).
  bool send_tracebacks = false;
  /// Refuse to send maps whose keys are not strings (str or bin): Python pseud
  /// 2.x drops its reader on them. A call fails with UsageError before
  /// anything is sent; a handler's result becomes a TypeError reply.
  bool strict_map_keys = true;
  /// Refuse to send a str (std::string, std::string_view, const char*) that is
  /// not valid UTF-8 as Python decodes it: a Python pseud peer's reader stops
  /// for good on one. A call fails with UsageError before anything is sent; a
  /// handler's result becomes a TypeError reply. Binary data travels as bytes
  /// (pseud::Bytes, std::vector<char>). Off: for peers that are not Python.
  bool strict_utf8 = true;
  /// Send ext values of types 123..126 (Python pseud's pickled tzinfo,
  /// timedelta, datetime and date). Off (the default), a call or a result
  /// holding one is refused as for strict_utf8, even one received from a
  /// Python peer: the payload is unpickled by the peer it reaches (a payload
  /// that is not a pickle stops its reader; a pickle can run any code there),
  /// and pseud++ cannot tell a value it received from one built in C++.
  /// Turn it on to pass such values on, or for a peer that is not Python.
  bool allow_python_ext = false;
  /// Drop a reply instead of sending it when its handler finished more than
  /// this long after the request arrived: a Python pseud caller has given up
  /// by then (its default timeout is 5 s) and dies on a reply it no longer
  /// expects. Unset: always reply.
  std::optional<std::chrono::milliseconds> reply_deadline{};
  /// Searched after the peer's own registry; must outlive the peer. Null: none.
  const Registry* parent_registry = &global_registry();
  /// Computes the predicate arguments of a caller (default: just its User-Id).
  std::function<PredicateArgs(const Caller&)> predicate_arguments{};
  /// Client only: the ZMQ routing id to present; empty is anonymous (as pseud).
  std::string routing_id{};
  /// Server only: this instance's id among the servers of one name (one per
  /// process or host, e.g. "eu-1"). The routing id is then "<name>@<instance>",
  /// so that a client connected to several instances reaches each one; a
  /// pseud++ Client connecting to one still calls it by the plain name. Empty
  /// (the default): the routing id is the name, as Python pseud expects.
  std::string instance{};
  /// Called on the engine's ROUTER socket before any bind or connect, to set
  /// options this struct does not cover (HWMs, TCP keepalive, ZAP domain...).
  std::function<void(zmq::socket_ref)> configure_socket{};
  /// Notifications waiting for their destination (Target::notify).
  OutboxOptions outbox{};
  /// Hooks that see every call this peer answers or makes, in this order
  /// (see interceptor.hpp). Empty: none, and nothing is spent on them.
  std::vector<std::shared_ptr<Interceptor>> interceptors{};
  /// Count calls, errors, calls in flight and latencies per function, both
  /// ways (Peer::metrics(); metrics.hpp). Off: nothing is counted.
  bool metrics = true;
  /// Functions counted per direction; the calls of any further name count
  /// under "(other)". Incoming calls only get an entry of their own once a
  /// function answers them: names a caller makes up count under "(unknown)".
  std::size_t max_metrics_functions = 1024;
  /// Who may call pseud.metrics (the domain pseud.metrics' predicate). Empty
  /// (the default): no remote caller; the metrics stay readable in-process
  /// with Peer::metrics().
  Predicate metrics_access{};
  /// A handler not registered `blocking` runs on the engine thread, which
  /// serves no other caller meanwhile: one that holds it longer than this
  /// is logged as a warning, naming it. Zero: never.
  std::chrono::milliseconds slow_handler_warning{100};
  /// ZMQ context to create sockets in; null uses one process-wide context
  /// (needed for inproc:// between peers, as with pyzmq's Context.instance()).
  std::shared_ptr<zmq::context_t> context{};
};

/// Counters of one peer, read with Peer::stats().
struct PeerStats {
  std::uint64_t calls_sent = 0;          ///< WORK messages put on the wire
  std::uint64_t replies_received = 0;    ///< OK/ERROR matched to a waiting call
  std::uint64_t requests_handled = 0;    ///< WORK answered with OK or ERROR
  std::uint64_t dropped_replies = 0;     ///< OK/ERROR for no waiting call (late, duplicate, unsolicited)
  std::uint64_t misdirected_replies = 0; ///< ... of which from another routing id, user or (server) connection than the WORK went to
  std::uint64_t malformed_messages = 0;  ///< frame sets or bodies refused
  std::uint64_t oversize_messages = 0;   ///< messages over max_message_size
  std::uint64_t unroutable_replies = 0;  ///< replies whose caller had gone
  std::uint64_t expired_replies = 0;     ///< replies dropped for missing PeerOptions::reply_deadline
  std::uint64_t late_replies = 0;        ///< ReplyChannel answers dropped: the call was answered already
  std::size_t open_reply_channels = 0;   ///< calls waiting for a ReplyChannel's answer now
  std::uint64_t connections_cut = 0;     ///< connections closed for PeerOptions::malformed_limit
  std::uint64_t dropped_after_cut = 0;   ///< messages a closed connection had queued, dropped unread
  std::uint64_t silent_connections_cut = 0;  ///< connections closed for sending nothing (see handshake_timeout)
  std::uint64_t overloaded_requests = 0;     ///< requests refused unrun with OverloadedError
  std::uint64_t refused_stopping = 0;        ///< requests refused unrun with UnavailableError: the peer was stopping
  std::uint64_t abandoned_at_stop = 0;       ///< accepted requests still unanswered when the peer stopped (their replies are lost)
  std::size_t pending_calls = 0;         ///< calls waiting for a reply now
  // Notifications (Target::notify) and the outbox they wait in:
  std::uint64_t notifications_sent = 0;       ///< handed to the connection
  std::uint64_t notifications_failed = 0;     ///< sent, then answered with ERROR, or no answer (peer gone, timeout: it may have run)
  std::uint64_t notifications_dropped = 0;    ///< dropped for a full outbox (OutboxOptions::overflow)
  std::uint64_t notifications_expired = 0;    ///< never sent within OutboxOptions::ttl
  std::uint64_t notifications_abandoned = 0;  ///< still waiting when the peer stopped
  std::size_t outbox_messages = 0;            ///< waiting now
  std::size_t outbox_bytes = 0;               ///< ... and the bytes they hold
  // Logins checked by password (the plain and untrusted_curve backends), or refused unchecked:
  std::uint64_t auth_checks = 0;              ///< password checks run
  std::uint64_t auth_refused_busy = 0;        ///< refused: the password-check queue was full
  std::uint64_t auth_refused_by_address = 0;  ///< refused: over the per-source-address limits
  std::uint64_t auth_refused_oversize = 0;    ///< refused: login or password over its length cap
  std::uint64_t auth_expired = 0;             ///< refused: no verdict within the ZAP request timeout
};

}  // namespace pseud
