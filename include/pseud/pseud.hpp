#pragma once
/// pseud++: bidirectional RPC over ZeroMQ speaking the Python pseud v1 protocol.
/// Include this one header.

#include "pseud/call.hpp"
#include "pseud/caller.hpp"
#include "pseud/errors.hpp"
#include "pseud/log.hpp"
#include "pseud/peer.hpp"
#include "pseud/registry.hpp"
#include "pseud/values.hpp"
