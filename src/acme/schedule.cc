#include "acme/schedule.h"

#include <algorithm>

namespace tlsgate::acme {
namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;

constexpr auto kShortLived = std::chrono::hours(24 * 10);
constexpr auto kMaxJitter = std::chrono::hours(1);
constexpr seconds kFirstRetry{30};
constexpr seconds kMaxRetry = std::chrono::hours(6);

}  // namespace

util::SystemTime renewal_time(const Validity& v, double unit) {
  const auto lifetime = v.not_after - v.not_before;
  if (lifetime <= util::SystemTime::duration::zero()) return v.not_before;
  const auto at = lifetime <= kShortLived ? lifetime / 2 : lifetime / 3 * 2;  // no overflow
  const auto jitter_span = std::min<util::SystemTime::duration>(
      lifetime / 20, duration_cast<util::SystemTime::duration>(kMaxJitter));
  const auto jitter =
      duration_cast<util::SystemTime::duration>(jitter_span * std::clamp(unit, 0.0, 1.0));
  return v.not_before + at - jitter;
}

util::SystemTime moment_in_window(util::SystemTime start, util::SystemTime end, double unit) {
  if (end <= start) return start;
  return start +
         duration_cast<util::SystemTime::duration>((end - start) * std::clamp(unit, 0.0, 1.0));
}

seconds retry_delay(int failures, const std::optional<Validity>& current, util::SystemTime now) {
  seconds delay = kFirstRetry;
  for (int i = 1; i < failures && delay < kMaxRetry; ++i) delay *= 2;
  delay = std::min(delay, kMaxRetry);
  if (current && current->not_after > now) {
    delay = std::min(delay, duration_cast<seconds>((current->not_after - now) / 10));
  }
  return std::max(delay, seconds{1});
}

}  // namespace tlsgate::acme
