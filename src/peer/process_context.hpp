#pragma once
// Layer 5 (peer): the ZMQ contexts pseud++ creates itself, one of each per
// process and never terminated, so that process exit cannot block on a
// socket someone forgot to close.

#include <memory>

#include <zmq.hpp>

namespace pseud::detail {

/// Peers' default context, as pyzmq's Context.instance(): inproc endpoints
/// only connect within a context.
std::shared_ptr<zmq::context_t> process_context();

/// The context of event hubs and subscribers. Separate from the peers' so
/// that an authentication backend's ZAP handler (installed per context) never
/// judges the events sockets, which admit by ticket over their own CURVE keys.
std::shared_ptr<zmq::context_t> events_context();

}  // namespace pseud::detail
