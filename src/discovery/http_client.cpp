// Layer 7 (discovery): libcurl transfers driven through a multi handle so
// that a stop flag is seen every 50 ms, with bounded answers.
#include "discovery/http_client.hpp"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "discovery/limits.hpp"

namespace pseud::detail::discovery {

namespace {

constexpr int poll_step_ms = 50;

void ensure_curl_initialised() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw TransportError("libcurl could not be initialised");
  });
}

struct EasyDeleter {
  void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
struct MultiDeleter {
  void operator()(CURLM* handle) const noexcept { curl_multi_cleanup(handle); }
};
struct HeaderListDeleter {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};

// What the write callback fills: the whole answer, or lines handed on.
struct Sink {
  std::string buffer;
  const std::function<bool(std::string_view)>* on_line = nullptr;  // streaming when set
  std::size_t limit = max_response_bytes;
  bool overflow = false;
  bool ended_by_reader = false;
};

std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& sink = *static_cast<Sink*>(user);
  const std::size_t bytes = size * count;
  if (sink.on_line == nullptr) {
    if (sink.buffer.size() + bytes > sink.limit) {
      sink.overflow = true;
      return 0;  // aborts the transfer
    }
    sink.buffer.append(data, bytes);
    return bytes;
  }
  std::string_view chunk(data, bytes);
  while (!chunk.empty()) {
    const auto newline = chunk.find('\n');
    const auto piece = chunk.substr(0, newline);
    if (sink.buffer.size() + piece.size() > sink.limit) {
      sink.overflow = true;
      return 0;
    }
    sink.buffer.append(piece);
    if (newline == std::string_view::npos) break;
    chunk.remove_prefix(newline + 1);
    const bool go_on = sink.buffer.empty() || (*sink.on_line)(sink.buffer);
    sink.buffer.clear();
    if (!go_on) {
      sink.ended_by_reader = true;
      return 0;
    }
  }
  return bytes;
}

template <class T>
void set(CURL* handle, CURLoption option, T value) {
  if (curl_easy_setopt(handle, option, value) != CURLE_OK) {
    throw TransportError("libcurl refused an option (" + std::to_string(static_cast<int>(option)) + ")");
  }
}

// Runs one POST to its end; returns the HTTP status. `timeout` 0: no total limit.
long perform(const std::string& url, std::string_view body, std::chrono::milliseconds timeout, Sink& sink,
             const std::atomic<bool>* stop) {
  ensure_curl_initialised();
  // Declared first, freed last: the transfer refers to it.
  std::unique_ptr<curl_slist, HeaderListDeleter> headers(curl_slist_append(nullptr, "Content-Type: application/json"));
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  std::unique_ptr<CURLM, MultiDeleter> multi(curl_multi_init());
  if (!headers || !easy || !multi) throw TransportError("libcurl could not allocate a transfer");
  CURL* handle = easy.get();
  char error_text[CURL_ERROR_SIZE] = {};
  set(handle, CURLOPT_URL, url.c_str());
  set(handle, CURLOPT_NOPROXY, "*");  // never the system's proxy
  set(handle, CURLOPT_PROTOCOLS_STR, "http");
  set(handle, CURLOPT_NOSIGNAL, 1L);
  set(handle, CURLOPT_FOLLOWLOCATION, 0L);
  set(handle, CURLOPT_HTTPHEADER, headers.get());
  set(handle, CURLOPT_POST, 1L);
  set(handle, CURLOPT_POSTFIELDS, body.data());
  set(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  const auto connect_ms = timeout.count() > 0 && timeout < connect_timeout ? timeout : connect_timeout;
  set(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_ms.count()));
  set(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  set(handle, CURLOPT_WRITEFUNCTION, &write_body);
  set(handle, CURLOPT_WRITEDATA, static_cast<void*>(&sink));
  set(handle, CURLOPT_ERRORBUFFER, error_text);
  if (curl_multi_add_handle(multi.get(), handle) != CURLM_OK) throw TransportError("libcurl could not start a transfer");

  int running = 1;
  while (running != 0) {
    if (stop != nullptr && stop->load()) {
      curl_multi_remove_handle(multi.get(), handle);
      throw TransportError("stopped");
    }
    if (curl_multi_perform(multi.get(), &running) != CURLM_OK) break;
    if (running == 0) break;
    int ready = 0;
    curl_multi_poll(multi.get(), nullptr, 0, poll_step_ms, &ready);
  }
  CURLcode result = CURLE_OK;
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi.get(), &left)) {
    if (message->msg == CURLMSG_DONE) result = message->data.result;
  }
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  curl_multi_remove_handle(multi.get(), handle);
  if (sink.ended_by_reader) return status;
  if (sink.overflow) {
    throw TransportError("the answer was larger than " + std::to_string(sink.limit) + " bytes");
  }
  if (result != CURLE_OK) {
    throw TransportError(error_text[0] != '\0' ? std::string(error_text) : std::string(curl_easy_strerror(result)));
  }
  return status;
}

}  // namespace

HttpAnswer http_post(const std::string& url, std::string_view body, std::chrono::milliseconds timeout,
                     const std::atomic<bool>* stop) {
  Sink sink;
  HttpAnswer answer;
  answer.status = perform(url, body, timeout, sink, stop);
  answer.body = std::move(sink.buffer);
  return answer;
}

void http_post_stream(const std::string& url, std::string_view body,
                      const std::function<bool(std::string_view line)>& on_line, const std::atomic<bool>& stop) {
  Sink sink;
  sink.on_line = &on_line;
  sink.limit = max_watch_line_bytes;
  try {
    perform(url, body, std::chrono::milliseconds{0}, sink, &stop);
  } catch (const TransportError&) {
    if (stop.load()) return;
    throw;
  }
}

}  // namespace pseud::detail::discovery
