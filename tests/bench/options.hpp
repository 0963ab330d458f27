#pragma once
// pseud-bench's command line: the matrix of configurations to measure and how.

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

/// What runs one side of a measured path.
enum class Impl { pseud, floor };
/// Who runs each side: the floor on both, pseud++ on both, or pseud++ on
/// one side against the floor on the other. pseud_bare and pseud_intercepted
/// are pseud++ on both sides, the first with its metrics off, the second
/// with one interceptor that does nothing on each side: what watching calls
/// costs, against pseud (metrics on, the default).
enum class Path { floor, pseud, pseud_client, pseud_server, pseud_bare, pseud_intercepted };
/// What a pseud++ peer of a path watches of its calls.
enum class Observation { standard, bare, intercepted };
enum class Transport { tcp, ipc, inproc };
enum class Mode { latency, throughput };

const char* name_of(Impl impl) noexcept;
const char* name_of(Path path) noexcept;
Impl client_impl(Path path) noexcept;
Impl server_impl(Path path) noexcept;
const char* name_of(Transport transport) noexcept;
const char* name_of(Mode mode) noexcept;

/// One configuration: what a repetition measures.
struct Config {
  Transport transport = Transport::tcp;
  std::size_t payload = 16;
  Mode mode = Mode::latency;
  std::size_t window = 1;  ///< calls in flight per peer (1 in latency mode)
  bool curve = false;
  std::size_t peers = 1;
  int hwm = -1;  ///< ZMQ_SNDHWM and ZMQ_RCVHWM of every socket; -1 leaves libzmq's default (1000)
  Observation observation = Observation::standard;  ///< set from the path, for the pseud++ peers
};

/// What the pseud++ peers of `path` watch.
Observation observation_of(Path path) noexcept;

/// The whole command line.
struct Options {
  std::vector<Transport> transports{Transport::tcp, Transport::ipc, Transport::inproc};
  std::vector<std::size_t> payloads{16, 1024, 65536};
  std::vector<Mode> modes{Mode::latency, Mode::throughput};
  std::vector<std::size_t> windows{64, 1000};
  std::vector<bool> curves{false, true};
  std::vector<std::size_t> peers{1};
  int hwm = 10000;  // pseud's default PeerOptions::queue_limit, so the floor queues as much as pseud
  bool floor = false;
  /// The paths measured besides the floor: pseud++ on both sides, and with
  /// --floor also pseud++ against the floor on either side.
  std::vector<Path> paths{Path::pseud};
  bool verbose = false;
  bool quick = false;
  int reps = 5;
  std::chrono::milliseconds duration{1000};
  std::chrono::milliseconds warmup{200};
  bool help = false;
};

/// A command line pseud-bench refuses; what() says why.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Parses the user-facing options (argv[1..]). Throws UsageError.
Options parse_options(const std::vector<std::string>& args);

/// The configurations the options describe, in the order they are measured
/// (CURVE is skipped for inproc, where libzmq runs no security mechanism).
std::vector<Config> expand_matrix(const Options& options);

/// The --help text.
std::string help_text();

}  // namespace bench
