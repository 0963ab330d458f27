#include "golden_seeds.hpp"

#include <fstream>
#include <stdexcept>
#include <string_view>
#include <variant>

#include "cli/json.hpp"
#include "fuzz_input.hpp"
#include "wire/bodies.hpp"

namespace pseud::fuzz {

namespace {

// The fields of one vector that seeds need (format: protocol/README.md).
struct Vector {
  std::string name;
  std::string form;
  std::string type;
  std::vector<std::string> frames;
};

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return std::string(text.substr(first, text.find_last_not_of(" \t\r") - first + 1));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "(empty)" or lower-case hex.
std::string frame_bytes(const std::string& text, const std::string& vector) {
  if (text == "(empty)") return {};
  std::string out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    const int high = hex_digit(text[i]);
    const int low = hex_digit(text[i + 1]);
    if (high < 0 || low < 0) throw std::runtime_error("golden vector " + vector + ": a frame is not lower-case hex");
    out += static_cast<char>(high * 16 + low);
  }
  if (text.size() % 2 != 0) throw std::runtime_error("golden vector " + vector + ": odd number of hex digits");
  return out;
}

std::vector<std::string> frames_of(const std::string& field, const std::string& vector) {
  std::vector<std::string> frames;
  for (std::size_t start = 0;;) {
    const auto bar = field.find('|', start);
    frames.push_back(frame_bytes(trim(std::string_view(field).substr(start, bar - start)), vector));
    if (bar == std::string::npos) return frames;
    start = bar + 1;
  }
}

std::vector<Vector> load(const std::filesystem::path& golden_file) {
  std::ifstream in(golden_file);
  if (!in) throw std::runtime_error("cannot read " + golden_file.string());
  std::vector<Vector> vectors;
  std::string line;
  while (std::getline(in, line)) {
    const std::string text = trim(line);
    const auto colon = text.find(':');
    if (text.empty() || text[0] == '#' || colon == std::string::npos) continue;
    const std::string key = text.substr(0, colon);
    const std::string value = trim(std::string_view(text).substr(colon + 1));
    if (key == "name") vectors.push_back({value, {}, {}, {}});
    if (vectors.empty()) continue;
    if (key == "form") vectors.back().form = value;
    if (key == "type") vectors.back().type = value;
    if (key == "frames") vectors.back().frames = frames_of(value, vectors.back().name);
  }
  for (const Vector& v : vectors) {
    if (v.frames.empty()) throw std::runtime_error("golden vector " + v.name + " has no frames");
  }
  return vectors;
}

}  // namespace

std::map<std::string, std::vector<Seed>> golden_seeds(const std::filesystem::path& golden_file) {
  std::map<std::string, std::vector<Seed>> seeds;
  for (const Vector& v : load(golden_file)) {
    seeds["frames"].push_back({v.name, join_pieces(v.frames)});
    if (v.form == "probe") continue;
    const std::string& body = v.frames.back();
    if (v.type == "HELLO") {
      seeds["auth"].push_back({v.name, join_pieces({body})});
      seeds["auth"].push_back({v.name + "_twice", join_pieces({body, body})});
    }
    auto value = wire::unpack_body(body);
    const auto* handle = std::get_if<msgpack::object_handle>(&value);
    if (!handle) continue;  // AUTHENTICATED, UNAUTHORIZED and HEARTBEAT bodies are not msgpack
    seeds["dispatch"].push_back({v.name, body});
    seeds["json"].push_back({v.name, cli::to_json(handle->get())});
    seeds["json"].push_back({v.name + "_msgpack", body});
  }
  return seeds;
}

}  // namespace pseud::fuzz
