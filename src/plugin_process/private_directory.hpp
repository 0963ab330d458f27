#pragma once
// A directory only this user can enter (0700), made for one plugin launch to
// hold its unix socket, and removed with what is in it.

#include <string>

namespace pseud::detail {

/// True when `path` is a directory owned by this user that nobody else may enter.
bool is_private_directory(const std::string& path);

class PrivateDirectory {
 public:
  /// Makes "<base>/pseud-plugin-XXXXXX", the base being XDG_RUNTIME_DIR when it
  /// is a directory of ours that nobody else may enter, else TMPDIR, else
  /// /tmp; a base too long for a unix socket path below it is skipped too.
  /// Throws PluginError saying why none could be made.
  static PrivateDirectory make();

  PrivateDirectory() = default;
  PrivateDirectory(PrivateDirectory&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  PrivateDirectory& operator=(PrivateDirectory&& other) noexcept;
  PrivateDirectory(const PrivateDirectory&) = delete;
  PrivateDirectory& operator=(const PrivateDirectory&) = delete;
  ~PrivateDirectory() { remove(); }

  const std::string& path() const noexcept { return path_; }
  /// Removes the files in it and the directory; true when it is gone.
  bool remove() noexcept;

 private:
  explicit PrivateDirectory(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace pseud::detail
