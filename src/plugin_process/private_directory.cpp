#include "plugin_process/private_directory.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "pseud/errors.hpp"

namespace pseud::detail {

namespace {

// What goes below the base: "/pseud-plugin-XXXXXX/plugin.sock".
constexpr std::size_t below_base = 32;

std::vector<std::string> candidate_bases() {
  std::vector<std::string> bases;
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime == '/' && is_private_directory(runtime))
    bases.emplace_back(runtime);
  if (const char* temporary = std::getenv("TMPDIR"); temporary && *temporary == '/') bases.emplace_back(temporary);
  bases.emplace_back("/tmp");
  return bases;
}

}  // namespace

bool is_private_directory(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode) && info.st_uid == ::geteuid() &&
         (info.st_mode & 077) == 0;
}

PrivateDirectory& PrivateDirectory::operator=(PrivateDirectory&& other) noexcept {
  if (this != &other) {
    remove();
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

PrivateDirectory PrivateDirectory::make() {
  std::string failures;
  for (std::string base : candidate_bases()) {
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    if (base.size() + below_base >= sizeof(sockaddr_un{}.sun_path)) {
      failures += " " + base + ": too long for a unix socket path;";
      continue;
    }
    std::string pattern = base + "/pseud-plugin-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) return PrivateDirectory(std::move(pattern));  // mode 0700
    failures += " " + base + ": " + std::strerror(errno) + ";";
  }
  failures.pop_back();
  throw PluginError("cannot make a private directory for its socket:" + failures);
}

bool PrivateDirectory::remove() noexcept {
  if (path_.empty()) return true;
  if (DIR* directory = ::opendir(path_.c_str())) {
    while (const dirent* entry = ::readdir(directory)) {
      const std::string_view name = entry->d_name;
      if (name != "." && name != "..") ::unlinkat(::dirfd(directory), entry->d_name, 0);
    }
    ::closedir(directory);
  }
  const bool gone = ::rmdir(path_.c_str()) == 0 || errno == ENOENT;
  path_.clear();
  return gone;
}

}  // namespace pseud::detail
