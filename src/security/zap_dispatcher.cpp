#include "security/zap_dispatcher.hpp"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <queue>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "log.hpp"
#include "pseud/errors.hpp"

namespace pseud::security {

namespace {

constexpr std::string_view zap_version = "1.0";
// Upper bounds on what libzmq itself ever sends; anything beyond is not a ZAP request.
constexpr std::size_t max_frames = 16;     // kept per message; the rest is drained and dropped
constexpr std::size_t max_field = 255;     // request id, domain, address, identity, PLAIN fields
constexpr std::size_t max_mechanism = 20;  // ZMTP mechanism names are 20 bytes
constexpr std::size_t max_principal = 4096;
constexpr std::size_t batch = 64;        // requests served per wake-up before polling again
constexpr int poll_interval_ms = 500;    // safety net; stop() wakes the thread at once

std::string_view view(const zmq::message_t& frame) noexcept {
  return {static_cast<const char*>(frame.data()), frame.size()};
}

bool valid_status(std::string_view code) noexcept {
  return code == "200" || code == "300" || code == "400" || code == "500";
}

// How many credential frames `mechanism` carries, or -1 when it is not one libzmq speaks.
int credential_count(std::string_view mechanism) noexcept {
  if (mechanism == "NULL") return 0;
  if (mechanism == "PLAIN") return 2;
  if (mechanism == "CURVE" || mechanism == "GSSAPI") return 1;
  return -1;
}

// Why `credentials` do not fit `mechanism`, or nullptr.
const char* credentials_problem(std::string_view mechanism, const std::vector<std::string>& credentials) noexcept {
  const int expected = credential_count(mechanism);
  if (expected < 0) return "unknown mechanism";
  if (credentials.size() != static_cast<std::size_t>(expected)) return "wrong number of credential frames";
  if (mechanism == "CURVE" && credentials[0].size() != 32) return "CURVE key is not 32 bytes";
  if (mechanism == "PLAIN" && (credentials[0].size() > max_field || credentials[1].size() > max_field)) {
    return "PLAIN credentials longer than 255 bytes";
  }
  if (mechanism == "GSSAPI" && credentials[0].size() > max_principal) return "GSSAPI principal too long";
  return nullptr;
}

int make_wake_fd() {
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "pseud: cannot create the ZAP handler's eventfd");
  return fd;
}

using Clock = std::chrono::steady_clock;

const ZapReply& dropped_reply() {
  static const ZapReply reply{"500", "Authentication dropped", {}};
  return reply;
}

}  // namespace

/// Where deferred answers wait for the handler thread, and the eventfd that
/// wakes it (for them, and for stop()). Shared with every responder, so it
/// outlives the dispatcher as long as one of them does.
class ZapMailbox {
 public:
  ZapMailbox() : fd_(make_wake_fd()) {}
  ~ZapMailbox() { ::close(fd_); }
  ZapMailbox(const ZapMailbox&) = delete;
  ZapMailbox& operator=(const ZapMailbox&) = delete;

  int fd() const noexcept { return fd_; }

  /// False once closed (the handler has stopped).
  bool post(std::uint64_t ticket, ZapReply reply) {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return false;
      answers_.emplace_back(ticket, std::move(reply));
    }
    wake();
    return true;
  }
  void wake() noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(fd_, &one, sizeof one);
  }
  /// Clears the wake-up and takes what was posted.
  void take(std::vector<std::pair<std::uint64_t, ZapReply>>& out) {
    std::uint64_t value;
    [[maybe_unused]] const auto got = ::read(fd_, &value, sizeof value);
    out.clear();
    std::lock_guard lock(mutex_);
    out.swap(answers_);
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    answers_.clear();
  }

 private:
  const int fd_;
  std::mutex mutex_;
  std::vector<std::pair<std::uint64_t, ZapReply>> answers_;
  bool closed_ = false;
};

/// The one answer of one request, shared by the copies of its responder.
struct ZapAnswer {
  ZapAnswer(std::shared_ptr<ZapMailbox> box, std::uint64_t number) : mailbox(std::move(box)), ticket(number) {}
  ~ZapAnswer() {
    if (answered.exchange(true)) return;
    try {
      mailbox->post(ticket, dropped_reply());  // the work was dropped: refuse now, not at the timeout
    } catch (...) {
    }
  }
  ZapAnswer(const ZapAnswer&) = delete;
  ZapAnswer& operator=(const ZapAnswer&) = delete;

  const std::shared_ptr<ZapMailbox> mailbox;
  const std::uint64_t ticket;
  std::atomic<bool> answered{false};
};

bool ZapResponder::operator()(ZapReply reply) const {
  if (!answer_ || answer_->answered.exchange(true)) return false;
  return answer_->mailbox->post(answer_->ticket, std::move(reply));
}

/// One registered domain. `mutex` is held while the authenticator runs, so
/// unregistering waits for a running call and then clears `authenticator`.
struct ZapDomain {
  ZapDomain(std::string domain, DeferringZapAuthenticator decide, ZapDeferLimits defer_limits)
      : name(std::move(domain)), authenticator(std::move(decide)), limits(defer_limits) {}

  const std::string name;
  std::mutex mutex;
  DeferringZapAuthenticator authenticator;  // empty once unregistered
  const ZapDeferLimits limits;
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::size_t> pending{0};  // changed only by the handler thread
  std::atomic<std::uint64_t> refused_pending{0};
  std::atomic<std::uint64_t> expired{0};
};

/// The handler of one context: the socket bound at zap_endpoint and the thread serving it.
class ZapDispatcher {
 public:
  explicit ZapDispatcher(zmq::context_t& context);
  ~ZapDispatcher();
  ZapDispatcher(const ZapDispatcher&) = delete;
  ZapDispatcher& operator=(const ZapDispatcher&) = delete;

  /// Throws UsageError when the domain is taken.
  void add(const std::shared_ptr<ZapDomain>& domain);
  /// Removes `domain`; true when none is left.
  bool remove(const ZapDomain& domain);
  /// Wakes the thread, waits for it to close the socket and exit.
  void stop() noexcept;
  /// True once the thread has exited (stopped, or the context was terminated).
  bool finished() const noexcept { return finished_.load(std::memory_order_acquire); }

 private:
  /// A request whose answer was deferred: what it takes to answer it.
  struct Waiting {
    std::vector<zmq::message_t> envelope;  // routing frames and the empty delimiter
    std::string request_id;
    std::shared_ptr<ZapDomain> domain;
    std::weak_ptr<ZapAnswer> answer;  // marked answered when the request times out
  };
  struct Expiry {
    Clock::time_point at;
    std::uint64_t ticket;
    bool operator>(const Expiry& other) const noexcept { return at > other.at; }
  };

  void run() noexcept;
  /// Serves up to `batch` queued requests; false when the context is terminating.
  bool serve_pending();
  void serve(std::vector<zmq::message_t>& frames, bool truncated);
  /// The reply now, or nullopt when `ticket` will bring it.
  std::optional<ZapReply> decide(const ZapRequest& request, std::shared_ptr<ZapDomain>& domain,
                                 const std::shared_ptr<ZapAnswer>& answer);
  void reply(std::vector<zmq::message_t>& frames, std::size_t envelope_size, std::string_view request_id,
             const ZapReply& answer);
  /// Sends the answers responders posted.
  void deliver_answers();
  /// Refuses the waiting requests whose time is up; the milliseconds until the next one's, at most `longest`.
  int expire_waiting(int longest);
  void finish(std::unordered_map<std::uint64_t, Waiting>::iterator waiting, const ZapReply& answer);

  zmq::socket_t socket_;
  std::shared_ptr<ZapMailbox> mailbox_;
  std::uint64_t next_ticket_ = 0;                          // handler thread only, as are the two below
  std::unordered_map<std::uint64_t, Waiting> waiting_;     // by ticket
  std::priority_queue<Expiry, std::vector<Expiry>, std::greater<>> expiries_;
  std::vector<std::pair<std::uint64_t, ZapReply>> answers_;  // scratch for deliver_answers()
  std::atomic<bool> stopping_{false};
  std::atomic<bool> finished_{false};
  std::mutex domains_mutex_;
  std::unordered_map<std::string, std::shared_ptr<ZapDomain>> domains_;
  std::thread thread_;
};

ZapDispatcher::ZapDispatcher(zmq::context_t& context) {
  try {
    socket_ = zmq::socket_t(context, zmq::socket_type::router);
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(zap_endpoint);
  } catch (const zmq::error_t& e) {
    if (e.num() == EADDRINUSE) {
      throw Error(std::string("pseud: ") + zap_endpoint +
                  " is already bound in this ZeroMQ context by another ZAP handler; a context has one ZAP handler, "
                  "so register every domain through register_zap_domain() instead");
    }
    throw Error(std::string("pseud: cannot start the ZAP handler: ") + e.what());
  }
  mailbox_ = std::make_shared<ZapMailbox>();
  thread_ = std::thread([this] { run(); });
}

ZapDispatcher::~ZapDispatcher() { stop(); }

void ZapDispatcher::add(const std::shared_ptr<ZapDomain>& domain) {
  std::lock_guard lock(domains_mutex_);
  if (!domains_.emplace(domain->name, domain).second) {
    throw UsageError("ZAP domain \"" + domain->name + "\" is already registered in this ZeroMQ context");
  }
}

bool ZapDispatcher::remove(const ZapDomain& domain) {
  std::lock_guard lock(domains_mutex_);
  domains_.erase(domain.name);
  return domains_.empty();
}

void ZapDispatcher::stop() noexcept {
  stopping_.store(true);
  mailbox_->wake();
  if (!thread_.joinable()) return;
  if (thread_.get_id() == std::this_thread::get_id()) {
    // Unreachable: the last registration cannot go away inside one of its own
    // authenticator calls (it would first wait for that call). Never join self.
    thread_.detach();
  } else {
    thread_.join();
  }
}

void ZapDispatcher::run() noexcept {
  ::pthread_setname_np(::pthread_self(), "pseud-zap");
  zmq_pollitem_t items[2] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, mailbox_->fd(), ZMQ_POLLIN, 0}};
  int timeout_ms = poll_interval_ms;
  while (!stopping_.load()) {
    if (zmq_poll(items, 2, timeout_ms) < 0) {
      if (zmq_errno() == EINTR) continue;
      if (zmq_errno() != ETERM) detail::log(LogLevel::error, "pseud: ZAP handler poll failed: ", zmq_strerror(zmq_errno()));
      break;  // ETERM: the context is being terminated, so release the socket
    }
    try {
      if (items[1].revents & ZMQ_POLLIN) deliver_answers();
    } catch (const std::exception& e) {
      detail::log(LogLevel::error, "pseud: ZAP handler: ", e.what());
    }
    if (items[0].revents & ZMQ_POLLIN) {
      bool alive = false;
      try {
        alive = serve_pending();
      } catch (const std::exception& e) {
        // Only allocation failure can get here; drop what was being served.
        detail::log(LogLevel::error, "pseud: ZAP handler: ", e.what());
        alive = true;
      }
      if (!alive) break;
    }
    try {
      timeout_ms = expire_waiting(poll_interval_ms);  // after serving: new requests' timeouts count
    } catch (const std::exception& e) {
      detail::log(LogLevel::error, "pseud: ZAP handler: ", e.what());
    }
  }
  // Responders that answer from now on reach nobody; waiting requests die with their connections.
  mailbox_->close();
  waiting_.clear();
  finished_.store(true, std::memory_order_release);
  // zmq_close() releases an inproc endpoint later, on libzmq's reaper thread;
  // unbind first so the endpoint is free when stop() returns. (It fails with
  // ETERM when the context is terminating, which needs nothing more.)
  zmq_unbind(socket_.handle(), zap_endpoint);
  socket_.close();
}

bool ZapDispatcher::serve_pending() {
  for (std::size_t served = 0; served < batch && !stopping_.load(); ++served) {
    std::vector<zmq::message_t> frames;
    bool truncated = false;
    try {
      bool more = true;
      for (bool first = true; more; first = false) {
        zmq::message_t frame;
        // The frames of one message arrive together, so only the first read can find nothing.
        if (!socket_.recv(frame, zmq::recv_flags::dontwait)) {
          if (first) return true;
          break;
        }
        more = frame.more();
        if (frames.size() < max_frames) {
          frames.push_back(std::move(frame));
        } else {
          truncated = true;  // drained and dropped
        }
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return false;
      detail::log(LogLevel::warning, "pseud: ZAP handler receive failed: ", e.what());
      return true;
    }
    serve(frames, truncated);
  }
  return true;
}

void ZapDispatcher::serve(std::vector<zmq::message_t>& frames, bool truncated) {
  // [routing envelope..., "", "1.0", request id, domain, address, identity, mechanism, credentials...]
  std::size_t delimiter = 0;
  while (delimiter < frames.size() && frames[delimiter].size() != 0) ++delimiter;
  // Without a routing envelope, a delimiter and a request id there is nothing to answer.
  if (delimiter == 0 || delimiter + 3 > frames.size()) {
    detail::log(LogLevel::warning, "pseud: ZAP handler dropped a request without envelope or request id");
    return;
  }
  const std::string_view version = view(frames[delimiter + 1]);
  const std::string_view request_id = view(frames[delimiter + 2]);
  if (request_id.size() > max_field) {
    detail::log(LogLevel::warning, "pseud: ZAP handler dropped a request with an oversized request id");
    return;
  }
  const auto refuse = [&](const char* why) {
    detail::log(LogLevel::warning, "pseud: ZAP handler refused a malformed request: ", why);
    reply(frames, delimiter + 1, request_id, ZapReply{"500", std::string("Malformed ZAP request: ") + why, {}});
  };
  if (version != zap_version) return refuse("unsupported version");
  const std::size_t fields = frames.size() - delimiter - 1;  // from the version on
  if (truncated) return refuse("too many frames");
  if (fields < 6) return refuse("too few frames");
  const auto field = [&](std::size_t i) { return view(frames[delimiter + 1 + i]); };
  if (field(2).size() > max_field || field(3).size() > max_field || field(4).size() > max_field) {
    return refuse("domain, address or identity longer than 255 bytes");
  }
  if (field(5).size() > max_mechanism) return refuse("mechanism name too long");

  ZapRequest request;
  request.domain = field(2);
  request.address = field(3);
  request.routing_id = field(4);
  request.mechanism = field(5);
  for (std::size_t i = 6; i < fields; ++i) request.credentials.emplace_back(field(i));
  if (const char* problem = credentials_problem(request.mechanism, request.credentials)) return refuse(problem);

  const std::uint64_t ticket = ++next_ticket_;
  auto answer = std::make_shared<ZapAnswer>(mailbox_, ticket);
  std::shared_ptr<ZapDomain> domain;
  if (auto now = decide(request, domain, answer)) {
    // Answered now, unless a responder was quicker (its answer then comes through the mailbox).
    if (!answer->answered.exchange(true)) return reply(frames, delimiter + 1, request_id, *now);
  }
  Waiting waiting{{}, std::string(request_id), domain, answer};
  answer.reset();  // may post "dropped" at once, when the authenticator kept no responder
  waiting.envelope.reserve(delimiter + 1);
  for (std::size_t i = 0; i <= delimiter; ++i) waiting.envelope.push_back(std::move(frames[i]));
  waiting_.emplace(ticket, std::move(waiting));
  domain->pending.fetch_add(1, std::memory_order_relaxed);
  expiries_.push(Expiry{Clock::now() + domain->limits.timeout, ticket});
}

std::optional<ZapReply> ZapDispatcher::decide(const ZapRequest& request, std::shared_ptr<ZapDomain>& domain,
                                              const std::shared_ptr<ZapAnswer>& answer) {
  {
    std::lock_guard lock(domains_mutex_);
    if (const auto found = domains_.find(request.domain); found != domains_.end()) domain = found->second;
  }
  const ZapReply unknown{"400", "Unknown ZAP domain", {}};
  if (!domain) {
    detail::log(LogLevel::warning, "pseud: ZAP request for an unregistered domain refused (", request.mechanism,
                " from ", request.address.empty() ? "local" : request.address, ")");
    return unknown;
  }
  std::lock_guard lock(domain->mutex);
  if (!domain->authenticator) return unknown;  // unregistered meanwhile
  domain->requests.fetch_add(1, std::memory_order_relaxed);
  if (domain->pending.load(std::memory_order_relaxed) >= domain->limits.max_pending) {
    domain->refused_pending.fetch_add(1, std::memory_order_relaxed);
    detail::log(LogLevel::warning, "pseud: ZAP request for domain \"", domain->name, "\" refused: ",
                domain->limits.max_pending, " requests wait for an answer already");
    return ZapReply{"500", "Too many authentications in progress", {}};
  }
  std::optional<ZapReply> now;
  try {
    now = domain->authenticator(request, ZapResponder(answer));
  } catch (const std::exception& e) {
    detail::log(LogLevel::error, "pseud: ZAP authenticator for domain \"", domain->name, "\" threw: ", e.what());
    return ZapReply{"500", "Authenticator failed", {}};
  } catch (...) {
    detail::log(LogLevel::error, "pseud: ZAP authenticator for domain \"", domain->name, "\" threw");
    return ZapReply{"500", "Authenticator failed", {}};
  }
  if (now && !valid_status(now->status_code)) {
    // libzmq treats any other code as a protocol error; refuse cleanly instead.
    detail::log(LogLevel::error, "pseud: ZAP authenticator for domain \"", domain->name,
                "\" returned an invalid status code; refusing");
    return ZapReply{"500", "Invalid status code from authenticator", {}};
  }
  return now;
}

void ZapDispatcher::deliver_answers() {
  mailbox_->take(answers_);
  for (auto& [ticket, answer] : answers_) {
    const auto it = waiting_.find(ticket);
    if (it == waiting_.end()) continue;  // timed out already
    if (!valid_status(answer.status_code)) {
      detail::log(LogLevel::error, "pseud: deferred ZAP answer for domain \"", it->second.domain->name,
                  "\" has an invalid status code; refusing");
      answer = ZapReply{"500", "Invalid status code from authenticator", {}};
    }
    finish(it, answer);
  }
  answers_.clear();
}

int ZapDispatcher::expire_waiting(int longest) {
  const auto now = Clock::now();
  while (!expiries_.empty() && expiries_.top().at <= now) {
    const auto ticket = expiries_.top().ticket;
    expiries_.pop();
    const auto it = waiting_.find(ticket);
    if (it == waiting_.end()) continue;  // answered in time
    if (auto answer = it->second.answer.lock()) answer->answered.store(true);  // a late answer is refused
    it->second.domain->expired.fetch_add(1, std::memory_order_relaxed);
    detail::log(LogLevel::warning, "pseud: ZAP request for domain \"", it->second.domain->name,
                "\" refused: no answer within ", it->second.domain->limits.timeout.count(), " ms");
    finish(it, ZapReply{"500", "Authentication timed out", {}});
  }
  // Answered requests leave their expiry behind: drop them when they pile up.
  if (waiting_.empty()) {
    expiries_ = {};
    return longest;
  }
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(expiries_.top().at - now).count();
  return static_cast<int>(std::clamp<long long>(left, 0, longest));
}

void ZapDispatcher::finish(std::unordered_map<std::uint64_t, Waiting>::iterator waiting, const ZapReply& answer) {
  Waiting done = std::move(waiting->second);
  waiting_.erase(waiting);
  done.domain->pending.fetch_sub(1, std::memory_order_relaxed);
  reply(done.envelope, done.envelope.size(), done.request_id, answer);
}

void ZapDispatcher::reply(std::vector<zmq::message_t>& frames, std::size_t envelope_size, std::string_view request_id,
                          const ZapReply& answer) {
  // Copy the request id out before the envelope frames are moved into the reply.
  const std::string id(request_id);
  const std::string_view body[] = {zap_version, id, answer.status_code, answer.status_text, answer.user_id, {}};
  try {
    for (std::size_t i = 0; i < envelope_size; ++i) {
      if (!socket_.send(frames[i], zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return;
    }
    for (std::size_t i = 0; i < std::size(body); ++i) {
      const auto more = i + 1 < std::size(body) ? zmq::send_flags::sndmore : zmq::send_flags::none;
      if (!socket_.send(zmq::buffer(body[i]), more | zmq::send_flags::dontwait)) return;
    }
  } catch (const zmq::error_t& e) {
    // EHOSTUNREACH and the like: the asking connection is gone. ETERM is seen by the next poll.
    detail::log(LogLevel::debug, "pseud: ZAP reply not sent: ", e.what());
  }
}

ZapRegistration::ZapRegistration(std::shared_ptr<ZapDispatcher> dispatcher, std::shared_ptr<ZapDomain> domain) noexcept
    : dispatcher_(std::move(dispatcher)), domain_(std::move(domain)) {}

const std::string& ZapRegistration::domain() const noexcept { return domain_->name; }

std::uint64_t ZapRegistration::requests() const noexcept { return domain_->requests.load(std::memory_order_relaxed); }

std::size_t ZapRegistration::pending() const noexcept { return domain_->pending.load(std::memory_order_relaxed); }

std::uint64_t ZapRegistration::refused_pending() const noexcept {
  return domain_->refused_pending.load(std::memory_order_relaxed);
}

std::uint64_t ZapRegistration::expired() const noexcept { return domain_->expired.load(std::memory_order_relaxed); }

namespace {

// Dispatchers by context handle. Never destroyed, so registrations held by
// static objects can still unregister during exit.
struct Dispatchers {
  std::mutex mutex;
  std::unordered_map<void*, std::shared_ptr<ZapDispatcher>> by_context;
};

Dispatchers& dispatchers() {
  static auto* const instance = new Dispatchers;
  return *instance;
}

}  // namespace

ZapRegistration::~ZapRegistration() {
  DeferringZapAuthenticator retired;
  {
    // First, without the global lock: wait for a running call and retire the
    // authenticator. A request that still finds the domain answers "400".
    std::lock_guard domain_lock(domain_->mutex);
    retired.swap(domain_->authenticator);
  }
  auto& all = dispatchers();
  std::lock_guard lock(all.mutex);
  if (!dispatcher_->remove(*domain_)) return;
  for (auto it = all.by_context.begin(); it != all.by_context.end(); ++it) {
    if (it->second == dispatcher_) {
      all.by_context.erase(it);
      break;
    }
  }
  // Under the lock, so a new registration cannot bind before the old socket is unbound.
  dispatcher_->stop();
}

std::unique_ptr<ZapRegistration> register_zap_domain(zmq::context_t& context, std::string domain,
                                                     ZapAuthenticator authenticator) {
  if (!authenticator) throw UsageError("ZAP authenticator for domain \"" + domain + "\" is empty");
  return register_zap_domain(
      context, std::move(domain),
      [decide = std::move(authenticator)](const ZapRequest& request, const ZapResponder&) -> std::optional<ZapReply> {
        return decide(request);
      });
}

std::unique_ptr<ZapRegistration> register_zap_domain(zmq::context_t& context, std::string domain,
                                                     DeferringZapAuthenticator authenticator, ZapDeferLimits limits) {
  if (domain.empty()) {
    throw UsageError("ZAP domain must not be empty (libzmq only enforces ZAP for a non-empty ZMQ_ZAP_DOMAIN)");
  }
  if (domain.size() > max_field) throw UsageError("ZAP domain must be at most 255 bytes");
  if (!authenticator) throw UsageError("ZAP authenticator for domain \"" + domain + "\" is empty");
  if (context.handle() == nullptr) throw UsageError("register_zap_domain(): the ZeroMQ context is closed");
  if (limits.max_pending == 0 || limits.timeout <= std::chrono::milliseconds::zero()) {
    throw UsageError("ZAP defer limits for domain \"" + domain + "\" must be positive");
  }

  auto entry = std::make_shared<ZapDomain>(std::move(domain), std::move(authenticator), limits);
  auto& all = dispatchers();
  std::lock_guard lock(all.mutex);
  auto& slot = all.by_context[context.handle()];
  // A finished dispatcher belongs to a terminated context (or to a new one at
  // the same address); either way it no longer serves, so start afresh.
  if (!slot || slot->finished()) {
    if (slot) slot->stop();  // joins the exited thread, so its socket is closed
    try {
      slot = std::make_shared<ZapDispatcher>(context);
    } catch (...) {
      all.by_context.erase(context.handle());
      throw;
    }
  }
  slot->add(entry);
  try {
    return std::make_unique<ZapRegistration>(slot, entry);
  } catch (...) {
    slot->remove(*entry);
    throw;
  }
}

}  // namespace pseud::security
