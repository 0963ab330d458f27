// PasswordStore: argon2id hashes, byte-string logins and passwords,
// concurrent verification and timing that does not reveal logins.

#include <sodium.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pseud/errors.hpp"
#include "pseud/passwords.hpp"

namespace pseud::security {
namespace {

using namespace std::string_literals;
using ::testing::HasSubstr;

// A hash made by libsodium directly, with explicit parameters.
std::string sodium_hash(std::string_view password, unsigned long long ops, std::size_t memory) {
  std::array<char, crypto_pwhash_STRBYTES> out{};
  if (crypto_pwhash_str(out.data(), password.data(), password.size(), ops, memory) != 0) {
    throw std::runtime_error("crypto_pwhash_str failed");
  }
  return out.data();
}

TEST(Credentials, VerifiesRightWrongAndUnknown) {
  PasswordStore store;
  store.add_password("alice", "correct horse", HashCost::minimal);
  store.add_password("bob", "battery staple", HashCost::minimal);
  EXPECT_EQ(store.size(), 2u);
  EXPECT_TRUE(store.contains("alice"));
  EXPECT_FALSE(store.contains("carol"));
  EXPECT_TRUE(store.verify("alice", "correct horse"));
  EXPECT_TRUE(store.verify("bob", "battery staple"));
  EXPECT_FALSE(store.verify("alice", "battery staple"));
  EXPECT_FALSE(store.verify("alice", "correct hors"));
  EXPECT_FALSE(store.verify("alice", ""));
  EXPECT_FALSE(store.verify("carol", "correct horse"));
  EXPECT_FALSE(store.verify("", ""));
}

TEST(Credentials, EmptyStoreRefusesEveryone) {
  const PasswordStore store;
  EXPECT_EQ(store.size(), 0u);
  EXPECT_FALSE(store.verify("alice", "x"));
  EXPECT_FALSE(store.verify("", ""));
}

TEST(Credentials, LoginsAndPasswordsAreBytes) {
  PasswordStore store;
  const std::string login = "al\0ice"s;
  const std::string password = "pa\0ss\xff"s;
  store.add_password(login, password, HashCost::minimal);
  EXPECT_TRUE(store.contains(login));
  EXPECT_FALSE(store.contains("al"));
  EXPECT_TRUE(store.verify(login, password));
  // The bytes after the NUL count, on both sides.
  EXPECT_FALSE(store.verify(login, "pa"));
  EXPECT_FALSE(store.verify(login, "pa\0ss"s));
  EXPECT_FALSE(store.verify("al", password));
  EXPECT_FALSE(store.verify("al\0icf"s, password));
}

TEST(Credentials, EmptyPasswordIsAPassword) {
  PasswordStore store;
  store.add_password("", "", HashCost::minimal);
  EXPECT_TRUE(store.verify("", ""));
  EXPECT_FALSE(store.verify("", "x"));
}

TEST(Credentials, AddPasswordReplaces) {
  PasswordStore store;
  store.add_password("alice", "old", HashCost::minimal);
  store.add_password("alice", "new", HashCost::minimal);
  EXPECT_EQ(store.size(), 1u);
  EXPECT_FALSE(store.verify("alice", "old"));
  EXPECT_TRUE(store.verify("alice", "new"));
}

TEST(Credentials, InteractiveCostVerifies) {
  PasswordStore store;
  store.add_password("alice", "secret", HashCost::interactive);
  EXPECT_TRUE(store.verify("alice", "secret"));
  EXPECT_FALSE(store.verify("alice", "Secret"));
}

TEST(Credentials, AcceptsHashFromCryptoPwhashStr) {
  PasswordStore store;
  const auto hash = sodium_hash("hunter2", crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN);
  ASSERT_EQ(hash.rfind("$argon2id$", 0), 0u);
  store.add_hash("alice", hash);
  EXPECT_TRUE(store.verify("alice", "hunter2"));
  EXPECT_FALSE(store.verify("alice", "hunter3"));
}

TEST(Credentials, RefusesMalformedHashes) {
  PasswordStore store;
  const auto good = sodium_hash("pw", crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN);
  std::array<char, crypto_pwhash_STRBYTES> argon2i{};
  ASSERT_EQ(crypto_pwhash_str_alg(argon2i.data(), "pw", 2, crypto_pwhash_argon2i_OPSLIMIT_MIN,
                                  crypto_pwhash_argon2i_MEMLIMIT_MIN, crypto_pwhash_ALG_ARGON2I13),
            0);
  const std::vector<std::string> bad = {
      "",
      "pw",                                      // a password, not a hash
      "$argon2id$",                              // prefix only
      good.substr(0, good.rfind('$')),          // hash field missing
      good.substr(0, good.rfind('$') + 1),      // hash field empty
      good.substr(0, 30),                        // truncated in the salt
      "$2b$12$abcdefghijklmnopqrstuuOPQRSTUVWXYZ0123456789abcdefghi",  // bcrypt
      argon2i.data(),                            // argon2i, not argon2id
      good + "\0x"s,                             // trailing bytes after a NUL
      std::string(200, 'a'),                     // too long
      "$argon2id$v=19$m=8,t=0,p=1$" + good.substr(good.find("$", 25) + 1),  // t = 0
      "$argon2id$v=19$m=abc,t=1,p=1$" + good.substr(good.find("$", 25) + 1),
  };
  for (const auto& hash : bad) {
    try {
      store.add_hash("alice", hash);
      ADD_FAILURE() << "accepted: " << hash;
    } catch (const UsageError& e) {
      EXPECT_THAT(e.what(), HasSubstr("argon2id"));
    }
  }
  EXPECT_EQ(store.size(), 0u);
  EXPECT_FALSE(store.contains("alice"));
}

TEST(Credentials, ConcurrentVerify) {
  PasswordStore store;
  for (int i = 0; i < 8; ++i) store.add_password("user" + std::to_string(i), "pw" + std::to_string(i), HashCost::minimal);
  std::atomic<int> wrong_answers{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        const int i = (t + round) % 8;
        const auto login = "user" + std::to_string(i);
        if (!store.verify(login, "pw" + std::to_string(i))) ++wrong_answers;
        if (store.verify(login, "pw" + std::to_string(i + 1))) ++wrong_answers;
        if (store.verify("nobody" + std::to_string(i), "pw")) ++wrong_answers;
        if (!store.contains(login)) ++wrong_answers;
      }
    });
  }
  // add_* may run concurrently with verify().
  for (int i = 8; i < 12; ++i) store.add_password("user" + std::to_string(i), "pw" + std::to_string(i), HashCost::minimal);
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong_answers.load(), 0);
  EXPECT_EQ(store.size(), 12u);
}

// Total time of `runs` verifications of `login`/`password`.
std::chrono::nanoseconds time_verify(const PasswordStore& store, std::string_view login, std::string_view password,
                                     int runs) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < runs; ++i) EXPECT_FALSE(store.verify(login, password));
  return std::chrono::steady_clock::now() - start;
}

// Ratio of the fastest unknown-login round to the fastest wrong-password
// round, interleaved: on a shared machine other work only ever adds time, so
// the minimum is the figure least disturbed by it.
double unknown_to_wrong_ratio(const PasswordStore& store, int rounds, int runs) {
  auto wrong = std::chrono::nanoseconds::max();
  auto unknown = std::chrono::nanoseconds::max();
  for (int round = 0; round < rounds; ++round) {
    wrong = std::min(wrong, time_verify(store, "alice", "not it", runs));
    unknown = std::min(unknown, time_verify(store, "mallory", "not it", runs));
  }
  return static_cast<double>(unknown.count()) / static_cast<double>(wrong.count());
}

TEST(Credentials, UnknownLoginTakesAsLongAsWrongPassword) {
  PasswordStore store;
  store.add_password("alice", "secret", HashCost::minimal);
  const double ratio = unknown_to_wrong_ratio(store, 7, 20);
  RecordProperty("unknown_to_wrong_ratio_minimal", std::to_string(ratio));
  EXPECT_GT(ratio, 0.3);
  EXPECT_LT(ratio, 3.0);
}

TEST(Credentials, DummyFollowsTheCostOfAddedHashes) {
  // A costlier hash added with add_hash(): unknown logins must slow down with it.
  PasswordStore store;
  store.add_hash("alice", sodium_hash("secret", 2, 1024 * 1024));
  const double ratio = unknown_to_wrong_ratio(store, 5, 3);
  RecordProperty("unknown_to_wrong_ratio_1mib", std::to_string(ratio));
  EXPECT_GT(ratio, 0.3);
  EXPECT_LT(ratio, 3.0);
}

}  // namespace
}  // namespace pseud::security
