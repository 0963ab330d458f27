// Layer 7 (discovery): etcd v3 gateway requests and the reading of their
// answers (base64 keys and values, int64 as strings, errors as objects).
#include "discovery/etcd_api.hpp"

#include <charconv>

#include "discovery/base64.hpp"
#include "discovery/bounded_json.hpp"
#include "discovery/http_client.hpp"
#include "log.hpp"

namespace pseud::detail::discovery {

namespace {

using nlohmann::json;

[[noreturn]] void unreadable(const std::string& what) { throw EtcdError("etcd's answer " + what, false); }

// An int64 field as etcd writes it (a decimal string) or as a JSON integer;
// `fallback` when absent. Throws EtcdError for anything else.
std::int64_t int64_field(const json& object, const char* name, std::int64_t fallback) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return fallback;
  if (it->is_number_integer() && !it->is_number_unsigned()) return it->get<std::int64_t>();
  if (it->is_number_unsigned()) {
    const auto value = it->get<std::uint64_t>();
    if (value <= static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(value);
  } else if (it->is_string()) {
    const auto& text = it->get_ref<const std::string&>();
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc{} && end == text.data() + text.size() && !text.empty()) return value;
  }
  unreadable(std::string("has a field \"") + name + "\" that is not a 64-bit integer");
}

const json& object_field(const json& object, const char* name) {
  static const json empty = json::object();
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return empty;
  if (!it->is_object()) unreadable(std::string("has a field \"") + name + "\" that is not an object");
  return *it;
}

std::string bytes_field(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_string()) unreadable(std::string("has a field \"") + name + "\" that is not a string");
  auto bytes = base64_decode(it->get_ref<const std::string&>());
  if (!bytes) unreadable(std::string("has a field \"") + name + "\" that is not base64");
  return std::move(*bytes);
}

json parse_answer(const std::string& text) {
  auto value = parse_bounded_json(text);
  if (!value || !value->is_object()) unreadable("is not a JSON object (or is nested too deep)");
  return std::move(*value);
}

// The message of an {"error": ..., "message": ..., "code": n} answer, if it is one.
std::string error_message(const json& answer) {
  for (const char* name : {"message", "error"}) {
    const auto it = answer.find(name);
    if (it != answer.end() && it->is_string()) return it->get<std::string>().substr(0, 300);
    if (it != answer.end() && it->is_object()) return it->dump(-1, ' ', false, json::error_handler_t::replace).substr(0, 300);
  }
  return {};
}

std::string int64_text(std::int64_t value) { return std::to_string(value); }

}  // namespace

std::string prefix_range_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) return std::string(1, '\0');  // every key
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

EtcdApi::EtcdApi(std::string host, int port)
    : address_(host + ":" + std::to_string(port)), base_url_("http://" + address_) {}

std::string EtcdApi::post(std::string_view path, const std::string& body, Duration timeout,
                          const std::atomic<bool>* stop) const {
  HttpAnswer answer;
  try {
    answer = http_post(base_url_ + std::string(path), body, timeout, stop);
  } catch (const TransportError& e) {
    throw EtcdError("cannot reach etcd at " + address_ + " (" + e.what() + ")", true);
  }
  if (answer.status != 200) {
    std::string message;
    if (auto value = parse_bounded_json(answer.body); value && value->is_object()) message = error_message(*value);
    throw EtcdError("etcd at " + address_ + " refused " + std::string(path) + " (HTTP " +
                        std::to_string(answer.status) + (message.empty() ? "" : ": " + message) + ")",
                    false);
  }
  return std::move(answer.body);
}

std::int64_t EtcdApi::grant(std::chrono::seconds ttl, Duration timeout, const std::atomic<bool>* stop) const {
  const json answer = parse_answer(post("/v3/lease/grant", json{{"TTL", ttl.count()}}.dump(), timeout, stop));
  const std::int64_t id = int64_field(answer, "ID", 0);
  if (id == 0) unreadable("to a lease grant holds no lease id" + [&] {
    const auto message = error_message(answer);
    return message.empty() ? std::string() : " (" + message + ")";
  }());
  return id;
}

std::int64_t EtcdApi::put(std::string_view key, std::string_view value, std::int64_t lease, Duration timeout,
                          const std::atomic<bool>* stop) const {
  json request{{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease != 0) request["lease"] = int64_text(lease);
  const json answer = parse_answer(post("/v3/kv/put", request.dump(), timeout, stop));
  return int64_field(object_field(answer, "header"), "revision", 0);
}

RangeAnswer EtcdApi::range_prefix(std::string_view prefix, std::size_t limit, Duration timeout,
                                  const std::atomic<bool>* stop) const {
  const json request{{"key", base64_encode(prefix)},
                     {"range_end", base64_encode(prefix_range_end(prefix))},
                     {"limit", int64_text(static_cast<std::int64_t>(limit))}};
  const json answer = parse_answer(post("/v3/kv/range", request.dump(), timeout, stop));
  RangeAnswer range;
  range.revision = int64_field(object_field(answer, "header"), "revision", 0);
  range.truncated = answer.contains("more") && answer["more"].is_boolean() && answer["more"].get<bool>();
  const auto kvs = answer.find("kvs");
  if (kvs == answer.end() || kvs->is_null()) return range;
  if (!kvs->is_array()) unreadable("to a range has \"kvs\" that is not an array");
  for (const auto& pair : *kvs) {
    if (range.pairs.size() >= limit) {
      range.truncated = true;
      break;
    }
    if (!pair.is_object()) unreadable("to a range holds a key-value that is not an object");
    range.pairs.push_back(KeyValue{bytes_field(pair, "key"), bytes_field(pair, "value")});
  }
  return range;
}

void EtcdApi::delete_key(std::string_view key, Duration timeout, const std::atomic<bool>* stop) const {
  parse_answer(post("/v3/kv/deleterange", json{{"key", base64_encode(key)}}.dump(), timeout, stop));
}

std::int64_t EtcdApi::keepalive(std::int64_t lease, Duration timeout, const std::atomic<bool>* stop) const {
  const json answer = parse_answer(post("/v3/lease/keepalive", json{{"ID", int64_text(lease)}}.dump(), timeout, stop));
  const auto result = answer.find("result");
  if (result == answer.end() || !result->is_object()) {
    const auto message = error_message(answer);
    throw EtcdError("etcd at " + address_ + " refused a lease keepalive" + (message.empty() ? "" : ": " + message),
                    false);
  }
  return int64_field(*result, "TTL", 0);  // absent: the lease is gone
}

void EtcdApi::revoke(std::int64_t lease, Duration timeout, const std::atomic<bool>* stop) const {
  try {
    parse_answer(post("/v3/lease/revoke", json{{"ID", int64_text(lease)}}.dump(), timeout, stop));
  } catch (const EtcdError& e) {
    if (e.unreachable() || std::string_view(e.what()).find("lease not found") == std::string_view::npos) throw;
  }
}

void EtcdApi::watch_prefix(std::string_view prefix, std::int64_t start_revision,
                           const std::function<void(const WatchBatch&)>& on_batch,
                           const std::atomic<bool>& stop) const {
  const json request{{"create_request",
                      {{"key", base64_encode(prefix)},
                       {"range_end", base64_encode(prefix_range_end(prefix))},
                       {"start_revision", int64_text(start_revision)}}}};
  std::string failure;
  const std::function<bool(std::string_view)> on_line = [&](std::string_view line) {
    try {
      auto value = parse_bounded_json(line);
      if (!value || !value->is_object()) unreadable("on a watch stream is not a JSON object");
      const auto result = value->find("result");
      if (result == value->end() || !result->is_object()) {
        const auto message = error_message(*value);
        throw EtcdError("etcd at " + address_ + " ended a watch" + (message.empty() ? "" : ": " + message), false);
      }
      if (result->contains("canceled") && (*result)["canceled"].is_boolean() && (*result)["canceled"].get<bool>()) {
        const auto reason = result->find("cancel_reason");
        throw EtcdError("etcd at " + address_ + " cancelled a watch" +
                            (reason != result->end() && reason->is_string()
                                 ? ": " + reason->get<std::string>().substr(0, 300)
                                 : std::string()),
                        false);
      }
      WatchBatch batch;
      batch.revision = int64_field(object_field(*result, "header"), "revision", 0);
      const auto events = result->find("events");
      if (events != result->end() && !events->is_null()) {
        if (!events->is_array()) unreadable("on a watch stream has \"events\" that is not an array");
        for (const auto& event : *events) {
          if (!event.is_object()) unreadable("on a watch stream holds an event that is not an object");
          WatchEvent out;
          const auto type = event.find("type");
          if (type != event.end() && !type->is_null()) {
            if (!type->is_string()) unreadable("on a watch stream holds an event type that is not a string");
            out.deleted = type->get_ref<const std::string&>() == "DELETE";
          }
          const json& kv = object_field(event, "kv");
          out.pair.key = bytes_field(kv, "key");
          if (!out.deleted) out.pair.value = bytes_field(kv, "value");
          batch.events.push_back(std::move(out));
        }
      }
      if (!batch.events.empty()) on_batch(batch);
      return !stop.load();
    } catch (const EtcdError& e) {
      failure = e.what();
      return false;
    } catch (const std::exception& e) {
      failure = std::string("etcd's watch stream could not be read: ") + e.what();
      return false;
    }
  };
  try {
    http_post_stream(base_url_ + "/v3/watch", request.dump(), on_line, stop);
  } catch (const TransportError& e) {
    throw EtcdError("lost the watch stream from etcd at " + address_ + " (" + e.what() + ")", true);
  }
  if (stop.load()) return;
  if (!failure.empty()) throw EtcdError(failure, false);
  throw EtcdError("etcd at " + address_ + " ended the watch stream", true);
}

}  // namespace pseud::detail::discovery
