#pragma once
// The pseud tool's output: one JSON object per line on stdout, flushed as it
// is written, from any thread.

#include <exception>
#include <string>
#include <string_view>

#include <msgpack.hpp>

namespace pseud::cli {

/// Writes `line` and a newline to stdout and flushes. Thread-safe.
void print_line(std::string_view line);

/// `"result": <value>` (a JSON member, without braces).
std::string result_field(const msgpack::object& value);
/// `"error": {"name": ..., "message": ...}` for an exception (a JSON member, without braces).
std::string error_field(const std::exception_ptr& error);
/// `{"result": <value>}`
std::string result_line(const msgpack::object& value);
/// `{"error": {"name": ..., "message": ...}}`
std::string error_line(const std::exception_ptr& error);
/// A JSON string literal for `text` (rendered as {"$bytes"} when it is not UTF-8).
std::string json_text(std::string_view text);

/// The exit status an exception means: 1 remote error or unauthorised, 2 timeout, unreachable or a plugin
/// that did not start (PluginError), 3 otherwise.
int exit_status_of(const std::exception_ptr& error);

}  // namespace pseud::cli
