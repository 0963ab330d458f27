#pragma once
// What the pseud++ peers of a path watch of their calls (Path::pseud_bare,
// Path::pseud_intercepted): metrics off, or one interceptor that does nothing.

#include <memory>

#include "options.hpp"
#include "pseud/pseud.hpp"

namespace bench {

// An interceptor that does nothing: what installing one costs, and no more.
class IdleInterceptor final : public pseud::Interceptor {
 public:
  void before(const pseud::CallInfo&) override {}
  void after(const pseud::CallInfo&, const pseud::CallEnd&) noexcept override {}
};

inline void apply_observation(pseud::PeerOptions& options, Observation observation) {
  if (observation == Observation::bare) options.metrics = false;
  if (observation == Observation::intercepted) options.interceptors = {std::make_shared<IdleInterceptor>()};
}

}  // namespace bench
