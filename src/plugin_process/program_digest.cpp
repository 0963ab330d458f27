#include "plugin_process/program_digest.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "pseud/errors.hpp"

namespace pseud::detail {

namespace {

UniqueFd open_regular(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw PluginError("cannot open " + path + ": " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) throw PluginError(path + " is not a regular file");
  return fd;
}

// Hashes the whole file through `fd`; `*starts_with_shebang` says whether it begins with "#!".
std::string sha256_of(int fd, const std::string& path, bool* starts_with_shebang) {
  if (::sodium_init() < 0) throw PluginError("libsodium failed to initialise");
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::array<unsigned char, 65536> buffer{};
  bool first = true;
  while (true) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw PluginError("cannot read " + path + ": " + std::strerror(errno));
    if (n == 0) break;
    if (first) *starts_with_shebang = n >= 2 && buffer[0] == '#' && buffer[1] == '!';
    first = false;
    crypto_hash_sha256_update(&state, buffer.data(), static_cast<unsigned long long>(n));
  }
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256_final(&state, digest.data());
  std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex{};
  ::sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  return hex.data();
}

}  // namespace

UniqueFd open_pinned_program(const std::string& path, std::string_view expected_hex) {
  std::string expected(expected_hex);
  std::transform(expected.begin(), expected.end(), expected.begin(), [](unsigned char c) { return std::tolower(c); });
  if (expected.size() != crypto_hash_sha256_BYTES * 2 ||
      !std::all_of(expected.begin(), expected.end(), [](unsigned char c) { return std::isxdigit(c) != 0; }))
    throw UsageError("plugin: the pinned SHA-256 is not 64 hex digits");
  UniqueFd fd = open_regular(path);
  bool script = false;
  const std::string actual = sha256_of(fd.get(), path, &script);
  if (actual != expected)
    throw PluginError(path + " has SHA-256 " + actual + ", not the pinned " + expected + ": it is not run");
  if (script)
    throw PluginError(path + " is a \"#!\" script: a pinned program must be a binary (the kernel would run the "
                      "script's interpreter by name, and the interpreter read the script again, both unchecked)");
  return fd;
}

}  // namespace pseud::detail
