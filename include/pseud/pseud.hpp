#pragma once
/// pseud++: bidirectional RPC over ZeroMQ speaking the Python pseud v1 protocol.
/// Include this one header.

#include "pseud/auth.hpp"
#include "pseud/auth_roles.hpp"
#include "pseud/backends.hpp"
#include "pseud/call.hpp"
#include "pseud/caller.hpp"
#include "pseud/errors.hpp"
#include "pseud/handshakes.hpp"
#include "pseud/heartbeat.hpp"
#include "pseud/keys.hpp"
#include "pseud/log.hpp"
#include "pseud/passwords.hpp"
#include "pseud/peer.hpp"
#include "pseud/peer_options.hpp"
#include "pseud/predicates.hpp"
#include "pseud/registry.hpp"
#include "pseud/reply_channel.hpp"
#include "pseud/settings.hpp"
#include "pseud/task.hpp"
#include "pseud/values.hpp"
