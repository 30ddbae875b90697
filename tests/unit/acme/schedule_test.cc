// When an ACME certificate is renewed and how long a failed attempt waits
// (acme/schedule.h): pure functions, checked against the rules in its header.
#include "acme/schedule.h"

#include <gtest/gtest.h>

#include <climits>

namespace tlsgate::acme {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const util::SystemTime kT0 = util::SystemTime{} + days(20000);  // mid-2024

Validity lasting(util::SystemTime::duration d) { return {kT0, kT0 + d}; }

// The largest unit below 1 (the header's range is [0, 1)).
constexpr double kAlmostOne = 0.999999999;

TEST(RenewalTime, TwoThirdsOfNinetyDays) {
  EXPECT_EQ(renewal_time(lasting(days(90)), 0.0), kT0 + days(60));
}

TEST(RenewalTime, HalfForShortLived) {
  EXPECT_EQ(renewal_time(lasting(days(6)), 0.0), kT0 + days(3));
  EXPECT_EQ(renewal_time(lasting(seconds(60)), 0.0), kT0 + seconds(30));
  // 10 days is still short-lived; just over it is not.
  EXPECT_EQ(renewal_time(lasting(days(10)), 0.0), kT0 + days(5));
  EXPECT_EQ(renewal_time(lasting(days(12)), 0.0), kT0 + days(8));
}

TEST(RenewalTime, JitterIsAtMostAnHour) {
  const auto v = lasting(days(90));
  const auto latest = kT0 + days(60);
  const auto t = renewal_time(v, kAlmostOne);
  EXPECT_LT(t, latest);
  EXPECT_GE(t, latest - hours(1));
  EXPECT_GT(t, latest - hours(1) - seconds(1));  // near the bound, not past it
  const auto mid = renewal_time(v, 0.5);
  EXPECT_EQ(mid, latest - minutes(30));
  // Out-of-range units are clamped, never move the time outside the span.
  EXPECT_EQ(renewal_time(v, -3.0), latest);
  EXPECT_EQ(renewal_time(v, 7.0), latest - hours(1));
}

TEST(RenewalTime, JitterIsAtMostATwentiethOfAShortLifetime) {
  // 60 s: a twentieth is 3 s, well under the hour.
  const auto t = renewal_time(lasting(seconds(60)), kAlmostOne);
  EXPECT_LT(t, kT0 + seconds(30));
  EXPECT_GE(t, kT0 + seconds(27));
  EXPECT_GT(t, kT0 + seconds(26));
  // 6 days: a twentieth is 7.2 h, so the hour caps it.
  const auto six = renewal_time(lasting(days(6)), kAlmostOne);
  EXPECT_GE(six, kT0 + days(3) - hours(1));
  EXPECT_LT(six, kT0 + days(3));
}

TEST(RenewalTime, ZeroOrNegativeLifetimeRenewsAtOnce) {
  EXPECT_EQ(renewal_time({kT0, kT0}, 0.5), kT0);
  EXPECT_EQ(renewal_time({kT0, kT0 - days(1)}, 0.5), kT0);
}

TEST(RenewalTime, AlwaysInsideTheValidity) {
  for (auto life : {seconds(1), seconds(60), seconds(3600), seconds(86400 * 10),
                    seconds(86400 * 90), seconds(86400 * 397)}) {
    for (double unit : {0.0, 0.25, 0.5, kAlmostOne}) {
      const auto t = renewal_time(lasting(life), unit);
      EXPECT_GE(t, kT0) << life.count() << " " << unit;
      EXPECT_LT(t, kT0 + life) << life.count() << " " << unit;
    }
  }
}

// A certificate the operator put in place before ACME may say "no expiry"
// (RFC 5280: 99991231235959Z), which pki::describe() clamps to half of
// SystemTime's range; with a notBefore of 1950 (UTCTime's earliest) its
// lifetime is over 146 years of nanoseconds, and twice that overflows.
TEST(RenewalTime, NoExpiryCertificateDoesNotOverflow) {
  const auto limit = std::chrono::duration_cast<seconds>(util::SystemTime::duration::max()) / 2;
  const Validity forever{util::SystemTime{} - days(365 * 20), util::SystemTime{} + limit};
  const auto lifetime = forever.not_after - forever.not_before;
  const auto t = renewal_time(forever, 0.0);
  EXPECT_GT(t, forever.not_before + lifetime / 2);
  EXPECT_LT(t, forever.not_after);
  EXPECT_LE(t, forever.not_before + lifetime / 3 * 2 + seconds(1));
  EXPECT_GE(t, forever.not_before + lifetime / 3 * 2 - seconds(1));
}

TEST(MomentInWindow, Bounds) {
  const auto start = kT0 + days(50);
  const auto end = kT0 + days(52);
  EXPECT_EQ(moment_in_window(start, end, 0.0), start);
  EXPECT_EQ(moment_in_window(start, end, 0.5), kT0 + days(51));
  const auto last = moment_in_window(start, end, kAlmostOne);
  EXPECT_LE(last, end);
  EXPECT_GT(last, end - seconds(1));
  EXPECT_EQ(moment_in_window(start, end, -1.0), start);
  EXPECT_EQ(moment_in_window(start, end, 2.0), end);
  // An empty or inverted window: its start.
  EXPECT_EQ(moment_in_window(start, start, 0.7), start);
  EXPECT_EQ(moment_in_window(end, start, 0.7), end);
}

TEST(RetryDelay, DoublesFromThirtySecondsUpToSixHours) {
  const auto now = kT0;
  EXPECT_EQ(retry_delay(1, std::nullopt, now), seconds(30));
  EXPECT_EQ(retry_delay(2, std::nullopt, now), seconds(60));
  EXPECT_EQ(retry_delay(3, std::nullopt, now), seconds(120));
  EXPECT_EQ(retry_delay(10, std::nullopt, now), seconds(30 * 512));
  EXPECT_EQ(retry_delay(11, std::nullopt, now), hours(6));
  EXPECT_EQ(retry_delay(12, std::nullopt, now), hours(6));
  EXPECT_EQ(retry_delay(1000, std::nullopt, now), hours(6));
  EXPECT_EQ(retry_delay(INT_MAX, std::nullopt, now), hours(6));
  for (int failures = 1; failures < 64; ++failures) {
    const auto d = retry_delay(failures, std::nullopt, now);
    EXPECT_GE(d, retry_delay(failures - 1 < 1 ? 1 : failures - 1, std::nullopt, now));
    EXPECT_LE(d, hours(6));
  }
}

TEST(RetryDelay, NoFailureCountStillWaits) {
  EXPECT_EQ(retry_delay(0, std::nullopt, kT0), seconds(30));
  EXPECT_EQ(retry_delay(-5, std::nullopt, kT0), seconds(30));
}

TEST(RetryDelay, CappedAtATenthOfTheRemainingValidity) {
  const auto now = kT0 + days(1);
  // One hour left: at most 6 minutes.
  const Validity hour_left{kT0, now + hours(1)};
  EXPECT_EQ(retry_delay(1, hour_left, now), seconds(30));
  EXPECT_EQ(retry_delay(4, hour_left, now), seconds(240));
  EXPECT_EQ(retry_delay(5, hour_left, now), seconds(360));
  EXPECT_EQ(retry_delay(20, hour_left, now), seconds(360));
  // Plenty left: the six-hour cap rules.
  const Validity months_left{kT0, now + days(60)};
  EXPECT_EQ(retry_delay(20, months_left, now), hours(6));
  EXPECT_EQ(retry_delay(2, months_left, now), seconds(60));
}

TEST(RetryDelay, NeverBelowOneSecond) {
  const auto now = kT0 + days(1);
  const Validity almost_gone{kT0, now + seconds(5)};  // a tenth is 0.5 s
  EXPECT_EQ(retry_delay(1, almost_gone, now), seconds(1));
  EXPECT_EQ(retry_delay(30, almost_gone, now), seconds(1));
  const Validity one_ms{kT0, now + std::chrono::milliseconds(1)};
  EXPECT_EQ(retry_delay(3, one_ms, now), seconds(1));
}

TEST(RetryDelay, ExpiredCertificateDoesNotShortenTheWait) {
  const auto now = kT0 + days(100);
  const Validity expired{kT0, kT0 + days(90)};
  EXPECT_EQ(retry_delay(1, expired, now), seconds(30));
  EXPECT_EQ(retry_delay(11, expired, now), hours(6));
  const Validity ends_now{kT0, now};
  EXPECT_EQ(retry_delay(11, ends_now, now), hours(6));
}

}  // namespace
}  // namespace tlsgate::acme
