// Layer 6 (events): EventSubscriber, the public face of EventSubscriberCore.

#include "pseud/events.hpp"

#include "events/event_subscriber_core.hpp"

namespace pseud {

EventSubscriber::EventSubscriber(Client& client, EventSubscriberOptions options)
    : client_(&client), core_(std::make_unique<detail::EventSubscriberCore>(client, options)) {}

EventSubscriber::~EventSubscriber() { stop(); }

void EventSubscriber::subscribe(std::string_view pattern, Handler handler, DeliveryMode mode) {
  core_->subscribe(pattern, std::move(handler), std::move(mode));
}

EventSubscriberStats EventSubscriber::stats() const { return core_->stats(); }

void EventSubscriber::stop() { core_->stop(); }

}  // namespace pseud
