#include "util/rate_limiter.h"

#include <gtest/gtest.h>

namespace tlsgate::util {
namespace {

using std::chrono::seconds;

TEST(RateLimiter, PassesABurstPerWindowAndCountsTheRest) {
  RateLimiter limiter(3, seconds(10));
  auto t0 = RateLimiter::Clock::time_point{} + seconds(100);
  EXPECT_EQ(limiter.admit(t0), 0U);
  EXPECT_EQ(limiter.admit(t0), 0U);
  EXPECT_EQ(limiter.admit(t0 + seconds(1)), 0U);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.admit(t0 + seconds(2)));
  // The next window: the first event that passes reports the 1000 held back.
  EXPECT_EQ(limiter.admit(t0 + seconds(10)), 1000U);
  EXPECT_EQ(limiter.admit(t0 + seconds(10)), 0U);
}

TEST(RateLimiter, LogLinesPerWindowStayBoundedUnderAFlood) {
  RateLimiter limiter(5, seconds(1));
  auto t = RateLimiter::Clock::time_point{} + seconds(1);
  int passed = 0;
  uint64_t reported = 0;
  for (int i = 0; i < 100000; ++i) {  // 100,000 events over 10 s
    if (auto dropped = limiter.admit(t + std::chrono::microseconds(i * 100))) {
      ++passed;
      reported += *dropped;
    }
  }
  // One more event in a later window collects what is still held back, so
  // every event is either a line or counted in one: none is lost.
  auto last = limiter.admit(t + seconds(20));
  ASSERT_TRUE(last);
  reported += *last;
  EXPECT_LE(passed, 5 * 11);
  EXPECT_EQ(static_cast<uint64_t>(passed) + reported, 100000U);
}

}  // namespace
}  // namespace tlsgate::util
