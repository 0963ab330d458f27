#include "plugin_process/line_splitter.hpp"

namespace pseud::detail {

void LineSplitter::deliver(const Sink& sink) {
  if (!pending_.empty() && pending_.back() == '\r') pending_.pop_back();
  if (cut_) pending_ += " [line cut]";
  sink(pending_);
  pending_.clear();
  cut_ = false;
}

void LineSplitter::feed(std::string_view bytes, const Sink& sink) {
  while (!bytes.empty()) {
    const std::size_t newline = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, newline);
    if (!cut_) {
      const std::size_t room = max_line_ - pending_.size();
      pending_.append(piece.substr(0, room));
      if (piece.size() > room) cut_ = true;
    }
    if (newline == std::string_view::npos) return;
    deliver(sink);
    bytes.remove_prefix(newline + 1);
  }
}

void LineSplitter::finish(const Sink& sink) {
  if (!pending_.empty() || cut_) deliver(sink);
}

}  // namespace pseud::detail
