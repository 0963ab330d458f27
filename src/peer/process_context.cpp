// Layer 5 (peer): the process-wide ZMQ contexts (process_context.hpp).

#include "peer/process_context.hpp"

namespace pseud::detail {

namespace {

std::shared_ptr<zmq::context_t> never_terminated(zmq::context_t* context) {
  return std::shared_ptr<zmq::context_t>(context, [](zmq::context_t*) {});
}

zmq::context_t* new_context() {
  auto* created = new zmq::context_t();
  created->set(zmq::ctxopt::max_sockets, 16384);
  return created;
}

}  // namespace

std::shared_ptr<zmq::context_t> process_context() {
  static zmq::context_t* context = new_context();
  return never_terminated(context);
}

std::shared_ptr<zmq::context_t> events_context() {
  static zmq::context_t* context = new_context();
  return never_terminated(context);
}

}  // namespace pseud::detail
