// CheckLimiter: who may have a password checked. Times are given, so the
// token buckets are tested without waiting.

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pseud/errors.hpp"
#include "pseud/passwords.hpp"

namespace pseud::security {
namespace {

using namespace std::chrono_literals;
using Admission = CheckLimiter::Admission;
using Clock = CheckLimiter::Clock;

CheckLimits limits(std::size_t in_flight, std::size_t per_address, double rate, double burst,
                   std::size_t addresses = 4096) {
  CheckLimits l;
  l.in_flight = in_flight;
  l.in_flight_per_address = per_address;
  l.per_second_per_address = rate;
  l.burst_per_address = burst;
  l.max_addresses = addresses;
  return l;
}

TEST(CheckLimiter, DefaultsAreTheDocumentedOnes) {
  const CheckLimits defaults;
  EXPECT_EQ(defaults.in_flight, 16u);
  EXPECT_EQ(defaults.in_flight_per_address, 2u);
  EXPECT_EQ(defaults.per_second_per_address, 2.0);
  EXPECT_EQ(defaults.burst_per_address, 4.0);
  EXPECT_EQ(defaults.max_login, 256u);
  EXPECT_EQ(defaults.max_password, 1024u);
}

TEST(CheckLimiter, RefusesZeroLimits) {
  EXPECT_THROW(CheckLimiter(limits(0, 1, 1, 1)), UsageError);
  EXPECT_THROW(CheckLimiter(limits(1, 0, 1, 1)), UsageError);
  EXPECT_THROW(CheckLimiter(limits(1, 1, 0, 1)), UsageError);
  EXPECT_THROW(CheckLimiter(limits(1, 1, 1, 0.5)), UsageError);
  EXPECT_THROW(CheckLimiter(limits(1, 1, 1, 1, 0)), UsageError);
}

TEST(CheckLimiter, InFlightPerAddressAndInAll) {
  CheckLimiter limiter(limits(3, 2, 100, 100));
  const auto now = Clock::now();
  EXPECT_EQ(limiter.admit("10.0.0.1", now), Admission::admitted);
  EXPECT_EQ(limiter.admit("10.0.0.1", now), Admission::admitted);
  EXPECT_EQ(limiter.admit("10.0.0.1", now), Admission::address_busy);
  EXPECT_EQ(limiter.admit("10.0.0.2", now), Admission::admitted);
  EXPECT_EQ(limiter.in_flight(), 3u);
  EXPECT_EQ(limiter.admit("10.0.0.3", now), Admission::busy);  // three in all
  limiter.release("10.0.0.1");
  EXPECT_EQ(limiter.admit("10.0.0.3", now), Admission::admitted);
  EXPECT_EQ(limiter.admit("10.0.0.1", now), Admission::busy);
  limiter.release("10.0.0.2");
  EXPECT_EQ(limiter.admit("10.0.0.1", now), Admission::admitted);
  EXPECT_EQ(limiter.in_flight(), 3u);
}

TEST(CheckLimiter, RatePerAddressIsATokenBucket) {
  CheckLimiter limiter(limits(100, 100, 2.0, 4.0));
  const auto start = Clock::now();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(limiter.admit("192.0.2.1", start), Admission::admitted) << i;
    limiter.release("192.0.2.1");
  }
  EXPECT_EQ(limiter.admit("192.0.2.1", start), Admission::address_too_fast);
  EXPECT_EQ(limiter.admit("192.0.2.2", start), Admission::admitted) << "another address has its own bucket";
  limiter.release("192.0.2.2");
  // 2 per second: one more after 500 ms, not before.
  EXPECT_EQ(limiter.admit("192.0.2.1", start + 400ms), Admission::address_too_fast);
  EXPECT_EQ(limiter.admit("192.0.2.1", start + 600ms), Admission::admitted);
  limiter.release("192.0.2.1");
  EXPECT_EQ(limiter.admit("192.0.2.1", start + 600ms), Admission::address_too_fast);
  // A long quiet spell refills the bucket to its size, no more.
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(limiter.admit("192.0.2.1", start + 60s), Admission::admitted) << i;
    limiter.release("192.0.2.1");
  }
  EXPECT_EQ(limiter.admit("192.0.2.1", start + 60s), Admission::address_too_fast);
}

TEST(CheckLimiter, RefusalsCostNoTokens) {
  CheckLimiter limiter(limits(100, 1, 1.0, 2.0));
  const auto now = Clock::now();
  EXPECT_EQ(limiter.admit("a", now), Admission::admitted);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(limiter.admit("a", now), Admission::address_busy);
  limiter.release("a");
  EXPECT_EQ(limiter.admit("a", now), Admission::admitted);  // the second token is still there
}

TEST(CheckLimiter, IdleAddressesAreForgottenWhenTheTableIsFull) {
  CheckLimiter limiter(limits(100, 1, 10.0, 1.0, 3));
  const auto start = Clock::now();
  for (const char* address : {"a", "b", "c"}) {
    EXPECT_EQ(limiter.admit(address, start), Admission::admitted);
  }
  EXPECT_EQ(limiter.addresses(), 3u);
  // All three have a check in flight: a fourth address cannot be remembered.
  EXPECT_EQ(limiter.admit("d", start), Admission::busy);
  limiter.release("a");
  // "a" is idle once its bucket is full again (1 token at 10 a second: 100 ms).
  EXPECT_EQ(limiter.admit("d", start + 50ms), Admission::busy);
  EXPECT_EQ(limiter.admit("d", start + 150ms), Admission::admitted);
  EXPECT_EQ(limiter.addresses(), 3u);
  limiter.release("b");
  limiter.release("c");
  limiter.release("d");
  EXPECT_EQ(limiter.in_flight(), 0u);
}

TEST(CheckLimiter, AddressKeys) {
  EXPECT_EQ(CheckLimiter::address_key("127.0.0.2"), "127.0.0.2");
  EXPECT_EQ(CheckLimiter::address_key(""), "");
  EXPECT_EQ(CheckLimiter::address_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(CheckLimiter::address_key("2001:db8:1:2:ffff::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(CheckLimiter::address_key("fe80::1%eth0"), "fe80::/64");
  EXPECT_EQ(CheckLimiter::address_key("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(CheckLimiter::address_key("::1"), "::/64");
  EXPECT_EQ(CheckLimiter::address_key("not:an:address"), "not:an:address");
  // One /64 shares one bucket.
  CheckLimiter limiter(limits(100, 1, 1, 1));
  const auto now = Clock::now();
  EXPECT_EQ(limiter.admit("2001:db8::1", now), Admission::admitted);
  EXPECT_EQ(limiter.admit("2001:db8::2", now), Admission::address_busy);
  EXPECT_EQ(limiter.admit("2001:db8:0:1::2", now), Admission::admitted);
}

TEST(CheckLimiter, ConcurrentAdmitAndRelease) {
  CheckLimiter limiter(limits(8, 2, 1e6, 1e6));
  std::vector<std::thread> threads;
  std::atomic<int> over{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string address = "10.0.0." + std::to_string(t % 2);
      for (int i = 0; i < 2000; ++i) {
        if (limiter.admit(address) == Admission::admitted) {
          if (limiter.in_flight() > 8) ++over;
          limiter.release(address);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(over.load(), 0);
  EXPECT_EQ(limiter.in_flight(), 0u);
}

}  // namespace
}  // namespace pseud::security
