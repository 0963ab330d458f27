#include "options.hpp"

#include <charconv>
#include <set>
#include <string_view>

namespace bench {

const char* name_of(Impl impl) noexcept { return impl == Impl::pseud ? "pseud" : "floor"; }

const char* name_of(Path path) noexcept {
  switch (path) {
    case Path::floor: return "floor";
    case Path::pseud: return "pseud";
    case Path::pseud_client: return "pseud_client";
    case Path::pseud_server: return "pseud_server";
    case Path::pseud_bare: return "pseud_bare";
    case Path::pseud_intercepted: return "pseud_intercepted";
  }
  return "?";
}

Impl client_impl(Path path) noexcept { return path == Path::floor || path == Path::pseud_server ? Impl::floor : Impl::pseud; }

Impl server_impl(Path path) noexcept { return path == Path::floor || path == Path::pseud_client ? Impl::floor : Impl::pseud; }

Observation observation_of(Path path) noexcept {
  return path == Path::pseud_bare          ? Observation::bare
         : path == Path::pseud_intercepted ? Observation::intercepted
                                           : Observation::standard;
}

const char* name_of(Transport transport) noexcept {
  switch (transport) {
    case Transport::tcp: return "tcp";
    case Transport::ipc: return "ipc";
    case Transport::inproc: return "inproc";
  }
  return "?";
}

const char* name_of(Mode mode) noexcept { return mode == Mode::latency ? "latency" : "throughput"; }

namespace {

std::vector<std::string> split_list(const std::string& text, const std::string& option) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    items.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (items.back().empty()) throw UsageError(option + ": empty item in '" + text + "'");
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

std::size_t parse_count(const std::string& text, const std::string& option, std::size_t max) {
  std::size_t value = 0;
  std::size_t multiplier = 1;
  std::string digits = text;
  struct Suffix {
    std::string_view text;
    std::size_t factor;
  };
  static constexpr Suffix suffixes[] = {{"KiB", 1024}, {"K", 1024}, {"k", 1024}, {"MiB", 1 << 20}, {"M", 1 << 20}};
  for (const auto& [s, factor] : suffixes) {
    if (digits.size() > s.size() && digits.compare(digits.size() - s.size(), s.size(), s) == 0) {
      digits.resize(digits.size() - s.size());
      multiplier = factor;
      break;
    }
  }
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc{} || end != digits.data() + digits.size() || value == 0 || value > max / multiplier) {
    throw UsageError(option + ": '" + text + "' is not a number from 1 to " + std::to_string(max));
  }
  return value * multiplier;
}

template <class T>
std::vector<T> parse_names(const std::string& text, const std::string& option,
                           std::initializer_list<std::pair<const char*, T>> names) {
  std::vector<T> out;
  for (const std::string& item : split_list(text, option)) {
    bool found = false;
    for (const auto& [name, value] : names) {
      if (item == name) {
        out.push_back(value);
        found = true;
      }
    }
    if (!found) throw UsageError(option + ": unknown value '" + item + "'");
  }
  return out;
}

std::vector<std::size_t> parse_counts(const std::string& text, const std::string& option, std::size_t max) {
  std::vector<std::size_t> out;
  for (const std::string& item : split_list(text, option)) out.push_back(parse_count(item, option, max));
  return out;
}

}  // namespace

Options parse_options(const std::vector<std::string>& args) {
  Options o;
  std::set<std::string> given;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw UsageError(arg + " needs a value");
      return args[++i];
    };
    given.insert(arg);
    if (arg == "--help" || arg == "-h") {
      o.help = true;
    } else if (arg == "--floor") {
      o.floor = true;
    } else if (arg == "--paths") {
      o.paths = parse_names<Path>(value(), arg, {{"pseud", Path::pseud}, {"pseud_client", Path::pseud_client},
                                                 {"pseud_server", Path::pseud_server}, {"pseud_bare", Path::pseud_bare},
                                                 {"pseud_intercepted", Path::pseud_intercepted}});
    } else if (arg == "--verbose") {
      o.verbose = true;
    } else if (arg == "--quick") {
      o.quick = true;
    } else if (arg == "--transport") {
      o.transports = parse_names<Transport>(value(), arg, {{"tcp", Transport::tcp}, {"ipc", Transport::ipc},
                                                           {"inproc", Transport::inproc}});
    } else if (arg == "--payload") {
      o.payloads = parse_counts(value(), arg, 1u << 20);
    } else if (arg == "--mode") {
      o.modes = parse_names<Mode>(value(), arg, {{"latency", Mode::latency}, {"throughput", Mode::throughput}});
    } else if (arg == "--window") {
      o.windows = parse_counts(value(), arg, 100000);
    } else if (arg == "--curve") {
      o.curves = parse_names<bool>(value(), arg, {{"off", false}, {"on", true}});
    } else if (arg == "--peers") {
      o.peers = parse_counts(value(), arg, 64);
    } else if (arg == "--hwm") {
      const std::string& text = value();
      o.hwm = text == "0" ? 0 : static_cast<int>(parse_count(text, arg, 10000000));
    } else if (arg == "--reps") {
      o.reps = static_cast<int>(parse_count(value(), arg, 1000));
    } else if (arg == "--duration") {
      o.duration = std::chrono::milliseconds(parse_count(value(), arg, 600000));
    } else if (arg == "--warmup") {
      o.warmup = std::chrono::milliseconds(parse_count(value(), arg, 600000));
    } else {
      throw UsageError("unknown option '" + arg + "' (see --help)");
    }
  }
  if (o.floor && !given.count("--paths")) o.paths = {Path::pseud, Path::pseud_client, Path::pseud_server};
  if (o.quick) {
    // A smoke run: a small matrix, short repetitions. Explicit options win.
    if (!given.count("--transport")) o.transports = {Transport::tcp, Transport::ipc, Transport::inproc};
    if (!given.count("--payload")) o.payloads = {1024};
    if (!given.count("--window")) o.windows = {100};
    if (!given.count("--curve")) o.curves = {false};
    if (!given.count("--reps")) o.reps = 1;
    if (!given.count("--duration")) o.duration = std::chrono::milliseconds(100);
    if (!given.count("--warmup")) o.warmup = std::chrono::milliseconds(30);
  }
  return o;
}

std::vector<Config> expand_matrix(const Options& o) {
  std::vector<Config> out;
  for (const bool curve : o.curves) {
    for (const Mode mode : o.modes) {
      for (const Transport transport : o.transports) {
        if (curve && transport == Transport::inproc) continue;
        for (const std::size_t payload : o.payloads) {
          for (const std::size_t peers : o.peers) {
            if (mode == Mode::latency) {
              out.push_back({transport, payload, mode, 1, curve, peers, o.hwm});
              continue;
            }
            for (const std::size_t window : o.windows) {
              out.push_back({transport, payload, mode, window, curve, peers, o.hwm});
            }
          }
        }
      }
    }
  }
  return out;
}

std::string help_text() {
  return R"(pseud-bench: round-trip latency and throughput of pseud++ calls, beside
the raw-libzmq floor measured in the same run.

Usage: pseud-bench [options]

Every combination of the list options below is one configuration. Each is
measured --reps times per path; with --floor the repetitions are interleaved
(repetition n starts n paths further along the list: floor, pseud,
pseud_client, pseud_server, then pseud, pseud_client, pseud_server, floor,
...). Each repetition runs in fresh processes: a server process and a client
process for tcp and ipc, one process holding both for inproc.

What is measured
  pseud   a pseud::Client calls "echo" on a pseud::Server; the function takes
          pseud::Bytes and returns it. Latency mode: blocking call(), one call
          in flight. Throughput mode: async_call() with a callback that
          issues the next call, so exactly --window calls are in flight.
  pseud_client, pseud_server
          pseud++ on one side only: a pseud::Client calling the floor's
          server, or the floor's client calling a pseud::Server. They show
          which side a gap comes from. Not over inproc, which does not
          cross the ZeroMQ contexts of the two sides.
  pseud_bare, pseud_intercepted
          as pseud, with both peers' metrics off (PeerOptions::metrics), or
          with one interceptor that does nothing installed on each peer
          (metrics on, as in pseud). Measured beside pseud, they show what
          watching calls costs: an "overhead" line compares each with pseud.
  floor   raw libzmq, ROUTER to ROUTER, with the same 6-frame pseud message
          ("", "v1", 16-byte id, type, body) and the same msgpack work: the
          client packs ["echo", [bin], {}] and unpacks the OK body, the
          server unpacks the WORK body and packs the bin back as OK.
  CURVE   pseud uses the trusted_curve backend; the floor sets the same CURVE
          keys and runs a ZAP handler that accepts the one trusted client key.

Options (LIST is comma-separated)
  --transport LIST  tcp, ipc, inproc                  (default tcp,ipc,inproc)
  --payload LIST    payload bytes; K/KiB, M/MiB suffix (default 16,1K,64K)
  --mode LIST       latency, throughput               (default latency,throughput)
  --window LIST     calls in flight per peer in throughput mode (default 64,1000)
  --curve LIST      off, on; on is skipped for inproc (default off,on)
  --peers LIST      client peers (connections), each driven on its own (default 1)
  --hwm N           set ZMQ_SNDHWM and ZMQ_RCVHWM to N (0: no limit) on every
                    socket, floor and pseud alike (default 10000: pseud's
                    PeerOptions::queue_limit)
  --floor           also measure the floor and print a summary line per config
                    and path
  --paths LIST      pseud, pseud_client, pseud_server, pseud_bare,
                    pseud_intercepted (default pseud; with --floor the
                    first three)
  --reps N          repetitions per configuration and implementation (default 5)
  --duration MS     measured time of one repetition (default 1000)
  --warmup MS       unmeasured time before it (default 200); in throughput
                    mode the measurement also waits for the first window of
                    calls to come back, so it never sees the first burst
  --quick           smoke run: unless given, transports tcp,ipc,inproc, payload
                    1K, window 100, curve off, 1 repetition of 100 ms
  --verbose         also print one line per repetition ("rep": n)
  -h, --help        this text

Output: JSON lines on stdout.
  {"impl", "transport", "payload", "mode", "window", "curve", "peers",
   "p50_us", "p99_us", "calls_per_s", "rss_kib", "reps"}, and "hwm" when set
      one per configuration and path ("impl" is the path's name: floor,
      pseud, pseud_client or pseud_server): medians across repetitions
      (p50_us is the median of the repetitions' p50s, and so on). Latencies
      are per call, over the calls completed in the measured window;
      rss_kib is the client process's VmRSS at the end of the window (for
      inproc that process holds the server too).
  {"summary": {config}, "path", "p50_ratio", "p99_ratio", "throughput_ratio",
   "met", "target", "failed_reps"}
      with --floor, after each configuration, one per path: the path's
      medians over the floor's (ratios of medians; null when a side has no
      successful repetition). Targets, for pseud++ on both sides: latency
      p50_ratio <= 1.15 and p99_ratio <= 1.3 (CURVE too); throughput_ratio
      >= 0.8, or >= 0.9 with CURVE. "met" is false when a repetition of the
      path or the floor failed, null for inproc and for the one-sided paths,
      which have no target. "met_reps" ("k of n", pseud++ on both sides
      only) judges the target per repetition, each beside the floor's
      repetition of the same round.
  {"overhead": {config}, "path", "over", "p50_ratio", "p99_ratio",
   "throughput_ratio", "p50_ratios", "met", "target"}
      when pseud and pseud_bare or pseud_intercepted were measured: the
      path's medians over "over"'s (pseud_intercepted over pseud: one
      interceptor; pseud over pseud_bare: the metrics), and p50_ratios, the
      ratio per repetition. Target for one interceptor: p50_ratio <= 1.03.
  {"error": text, ...}
      a repetition failed (a call failed, a process hung or died); the
      run goes on and pseud-bench exits with status 1.
Progress goes to stderr. Exit status: 0, 1 when any repetition failed, 2 on a
bad command line.
)";
}

}  // namespace bench
