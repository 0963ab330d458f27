#pragma once
// The two libzmq DRAFT names pseud++ relies on. Debian's zmq.h hides them
// unless ZMQ_BUILD_DRAFT_API is defined, yet the stable 4.3.x library
// accepts the option and sets the property; the values are fixed by libzmq.
// Included before <zmq.hpp>, it also makes cppzmq declare
// zmq::sockopt::zap_enforce_domain (cppzmq guards it with #ifdef).

#include <zmq.h>

/// Socket option: refuse ZAP-less handshakes instead of failing open (libzmq >= 4.2.3).
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

/// Message property holding the ZAP reply's user id for the connection.
#ifndef ZMQ_MSG_PROPERTY_USER_ID
#define ZMQ_MSG_PROPERTY_USER_ID "User-Id"
#endif
