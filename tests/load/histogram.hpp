#pragma once
// Latency histogram: 32 linear sub-buckets per power of two of microseconds
// (about 3 % resolution) from 1 µs to ~68 s. Mergeable across processes
// through a compact text form.

#include <array>
#include <bit>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

namespace pseud::load {

class Histogram {
 public:
  static constexpr int sub_bits = 5;
  static constexpr int sub_buckets = 1 << sub_bits;
  static constexpr int octaves = 27;
  static constexpr int size = octaves * sub_buckets;

  void add(std::int64_t micros) noexcept {
    ++counts_[index(micros < 0 ? 0 : static_cast<std::uint64_t>(micros))];
    ++total_;
  }

  std::uint64_t total() const noexcept { return total_; }

  void merge(const Histogram& other) noexcept {
    for (int i = 0; i < size; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
  }

  /// The value (µs, the bucket's upper bound) below which `fraction` of the samples lie; 0 when empty.
  std::int64_t percentile(double fraction) const noexcept {
    if (total_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(fraction * static_cast<double>(total_));
    if (rank >= total_) rank = total_ - 1;
    std::uint64_t seen = 0;
    for (int i = 0; i < size; ++i) {
      seen += counts_[i];
      if (seen > rank) return upper_bound(i);
    }
    return upper_bound(size - 1);
  }

  /// "index:count,index:count,..." (non-empty buckets only).
  std::string encode() const {
    std::ostringstream out;
    bool first = true;
    for (int i = 0; i < size; ++i) {
      if (counts_[i] == 0) continue;
      out << (first ? "" : ",") << i << ':' << counts_[i];
      first = false;
    }
    return first ? "-" : out.str();
  }

  /// Adds what encode() wrote; false on malformed text.
  bool merge_encoded(std::string_view text) {
    if (text == "-") return true;
    std::istringstream in{std::string(text)};
    std::string item;
    while (std::getline(in, item, ',')) {
      const auto colon = item.find(':');
      if (colon == std::string::npos) return false;
      const int i = std::stoi(item.substr(0, colon));
      const std::uint64_t n = std::stoull(item.substr(colon + 1));
      if (i < 0 || i >= size) return false;
      counts_[i] += n;
      total_ += n;
    }
    return true;
  }

 private:
  static int index(std::uint64_t v) noexcept {
    if (v < sub_buckets) return static_cast<int>(v);
    const int octave = std::bit_width(v) - sub_bits;  // >= 1
    const int i = octave * sub_buckets + static_cast<int>((v >> (octave - 1)) - sub_buckets);
    return i < size ? i : size - 1;
  }
  static std::int64_t upper_bound(int i) noexcept {
    if (i < sub_buckets) return i;
    const int octave = i / sub_buckets;
    const std::int64_t sub = i % sub_buckets;
    return ((sub_buckets + sub + 1) << (octave - 1)) - 1;
  }

  std::array<std::uint64_t, size> counts_{};
  std::uint64_t total_ = 0;
};

}  // namespace pseud::load
