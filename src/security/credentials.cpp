#include "pseud/passwords.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <mutex>

#include "pseud/errors.hpp"

namespace pseud {

namespace {

constexpr std::string_view argon2id_prefix = crypto_pwhash_argon2id_STRPREFIX;

// A hash string buffer that is wiped on the way out.
struct HashBuffer {
  std::array<char, crypto_pwhash_STRBYTES> text{};
  ~HashBuffer() { sodium_memzero(text.data(), text.size()); }
};

// A non-null pointer even for an empty view (libsodium checks pointer/length pairs).
const char* bytes_of(std::string_view text) noexcept { return text.empty() ? "" : text.data(); }

std::string hash_password(std::string_view password, unsigned long long ops, std::size_t memory) {
  HashBuffer out;
  if (crypto_pwhash_str_alg(out.text.data(), bytes_of(password), password.size(), ops, memory,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw Error("pseud: password hashing failed (out of memory?)");
  }
  return std::string(out.text.data());
}

// The value of "<name>=<digits>" inside the parameter field of a hash.
template <class Number>
bool read_parameter(std::string_view parameters, std::string_view name, Number& value) {
  for (std::size_t start = 0; start < parameters.size();) {
    const auto end = std::min(parameters.find(',', start), parameters.size());
    const auto field = parameters.substr(start, end - start);
    if (field.size() > name.size() && field.substr(0, name.size()) == name && field[name.size()] == '=') {
      const auto digits = field.substr(name.size() + 1);
      const auto [ptr, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      return error == std::errc{} && ptr == digits.data() + digits.size();
    }
    start = end + 1;
  }
  return false;
}

}  // namespace

PasswordStore::PasswordStore() {
  if (sodium_init() < 0) throw Error("pseud: libsodium failed to initialise (sodium_init)");
  dummy_cost_ = {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
  std::array<unsigned char, 32> secret;
  randombytes_buf(secret.data(), secret.size());
  dummy_hash_ = hash_password({reinterpret_cast<const char*>(secret.data()), secret.size()}, dummy_cost_.ops,
                              dummy_cost_.memory);
  sodium_memzero(secret.data(), secret.size());
}

PasswordStore::Cost PasswordStore::parse_cost(std::string_view hash) {
  // "$argon2id$v=19$m=65536,t=2,p=1$<salt>$<hash>": the field after the version.
  const auto version_end = hash.find('$', argon2id_prefix.size());
  const auto parameters_end = hash.find('$', version_end + 1);
  Cost cost;
  unsigned long long kib = 0;
  if (version_end == std::string_view::npos || parameters_end == std::string_view::npos) return cost;
  const auto parameters = hash.substr(version_end + 1, parameters_end - version_end - 1);
  if (!read_parameter(parameters, "m", kib) || !read_parameter(parameters, "t", cost.ops)) return {};
  if (kib > crypto_pwhash_argon2id_MEMLIMIT_MAX / 1024) return {};
  cost.memory = static_cast<std::size_t>(kib) * 1024;
  return cost;
}

void PasswordStore::add_password(std::string login, std::string_view password, HashCost cost) {
  const Cost chosen = cost == HashCost::interactive
                          ? Cost{crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE}
                          : Cost{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
  store(std::move(login), hash_password(password, chosen.ops, chosen.memory), chosen);
}

void PasswordStore::add_hash(std::string login, std::string hash) {
  const auto refuse = [](std::string_view why) {
    throw UsageError("add_hash(): not a libsodium argon2id password hash (" + std::string(why) + ")");
  };
  if (hash.size() >= crypto_pwhash_STRBYTES) refuse("too long");
  if (hash.find('\0') != std::string::npos) refuse("contains a zero byte");
  if (hash.compare(0, argon2id_prefix.size(), argon2id_prefix) != 0) refuse("must start with \"$argon2id$\"");
  // needs_rehash decodes the whole string and answers -1 when it is malformed.
  if (crypto_pwhash_argon2id_str_needs_rehash(hash.c_str(), crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN) ==
      -1) {
    refuse("malformed");
  }
  const Cost cost = parse_cost(hash);
  if (cost.ops < crypto_pwhash_argon2id_OPSLIMIT_MIN || cost.ops > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
      cost.memory < crypto_pwhash_argon2id_MEMLIMIT_MIN) {
    refuse("parameters out of range");
  }
  store(std::move(login), std::move(hash), cost);
}

void PasswordStore::store(std::string login, std::string hash, const Cost& cost) {
  // The dummy must cost as much as a real verification, or unknown logins
  // would answer faster. It is hashed outside the lock.
  std::string dummy;
  {
    std::shared_lock lock(mutex_);
    if (cost.work() > dummy_cost_.work()) {
      lock.unlock();
      std::array<unsigned char, 32> secret;
      randombytes_buf(secret.data(), secret.size());
      dummy = hash_password({reinterpret_cast<const char*>(secret.data()), secret.size()}, cost.ops, cost.memory);
      sodium_memzero(secret.data(), secret.size());
    }
  }
  std::unique_lock lock(mutex_);
  hashes_.insert_or_assign(std::move(login), std::move(hash));
  if (!dummy.empty() && cost.work() > dummy_cost_.work()) {
    dummy_hash_.swap(dummy);
    dummy_cost_ = cost;
  }
}

bool PasswordStore::verify(std::string_view login, std::string_view password) const {
  std::string hash;
  bool known;
  {
    std::shared_lock lock(mutex_);
    const auto found = hashes_.find(login);
    known = found != hashes_.end();
    hash = known ? found->second : dummy_hash_;
  }
  // Both paths run exactly one verification.
  const bool matches = crypto_pwhash_str_verify(hash.c_str(), bytes_of(password), password.size()) == 0;
  return known && matches;
}

bool PasswordStore::contains(std::string_view login) const {
  std::shared_lock lock(mutex_);
  return hashes_.find(login) != hashes_.end();
}

std::size_t PasswordStore::size() const {
  std::shared_lock lock(mutex_);
  return hashes_.size();
}

}  // namespace pseud
