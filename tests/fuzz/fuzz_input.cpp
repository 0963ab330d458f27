#include "fuzz_input.hpp"

#include <cstdio>
#include <cstdlib>

namespace pseud::fuzz {

namespace {

constexpr unsigned long_header = 255;

std::string& input_label() {
  static std::string label;
  return label;
}

}  // namespace

std::vector<std::string_view> split_pieces(std::string_view input, std::size_t max_pieces) {
  std::vector<std::string_view> pieces;
  std::size_t pos = 0;
  while (pos < input.size() && pieces.size() < max_pieces) {
    std::size_t length = static_cast<unsigned char>(input[pos++]);
    if (length == long_header) {
      length = input.size() - pos;  // header cut short: the rest
      if (input.size() - pos >= 2) {
        length = static_cast<std::size_t>(static_cast<unsigned char>(input[pos]) << 8 |
                                          static_cast<unsigned char>(input[pos + 1]));
        pos += 2;
      }
    }
    const std::string_view piece = input.substr(pos, length);
    pieces.push_back(piece);
    pos += piece.size();
  }
  return pieces;
}

std::string join_pieces(const std::vector<std::string>& pieces) {
  std::string out;
  for (const std::string& piece : pieces) {
    if (piece.size() < long_header) {
      out += static_cast<char>(piece.size());
    } else {
      out += static_cast<char>(long_header);
      out += static_cast<char>((piece.size() >> 8) & 0xff);
      out += static_cast<char>(piece.size() & 0xff);
    }
    out += piece.substr(0, 0xffff);
  }
  return out;
}

void set_input_label(std::string label) { input_label() = std::move(label); }

void require(bool holds, std::string_view property) {
  if (holds) return;
  std::fprintf(stderr, "pseud fuzz: property violated: %.*s\n", static_cast<int>(property.size()), property.data());
  if (!input_label().empty()) std::fprintf(stderr, "pseud fuzz: input: %s\n", input_label().c_str());
  std::abort();
}

}  // namespace pseud::fuzz
