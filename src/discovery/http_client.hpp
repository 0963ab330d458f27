#pragma once
// Layer 7 (discovery): the HTTP POSTs the etcd backend makes (libcurl):
// loopback or named host, never a proxy, bounded in time and size, and
// abandoned within ~50 ms when their stop flag is set.

#include <atomic>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pseud::detail::discovery {

/// No complete answer: no connection, a timeout, a reset, an answer beyond
/// its size bound, or a stop request.
class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HttpAnswer {
  long status = 0;
  std::string body;
};

/// POSTs the JSON `body` to `url` and returns the answer (any status), at
/// most max_response_bytes, within `timeout` (connecting within
/// connect_timeout). Throws TransportError.
HttpAnswer http_post(const std::string& url, std::string_view body, std::chrono::milliseconds timeout,
                     const std::atomic<bool>* stop = nullptr);

/// POSTs the JSON `body` to `url` and hands each line of the streamed answer
/// to `on_line` (lines at most max_watch_line_bytes). Returns when the server
/// ends the answer, `on_line` returns false or `stop` is set; throws
/// TransportError when the connection fails or breaks.
void http_post_stream(const std::string& url, std::string_view body,
                      const std::function<bool(std::string_view line)>& on_line, const std::atomic<bool>& stop);

}  // namespace pseud::detail::discovery
