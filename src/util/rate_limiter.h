// RateLimiter: keeps a flood of alike log lines (handshake failures from a
// storm of bad clients, refused connections) from growing the log without
// bound. At most `burst` events pass per `window`; the others are only
// counted, and the next event that passes carries how many were held back,
// so its line can say so. The gate's one rule for alike lines: per-connection
// failures (20 a second per connector) and refusals at accept (one line per
// reason each 10 s, with the count so far). Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "util/mutex.h"

namespace tlsgate::util {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  RateLimiter(uint32_t burst, Clock::duration window) : burst_(burst), window_(window) {}

  // nullopt: drop this event (it is counted). Otherwise log it; the value is
  // the number of events dropped since the last one that passed.
  std::optional<uint64_t> admit(Clock::time_point now = Clock::now()) {
    MutexLock lock(mu_);
    if (now - window_start_ >= window_) {
      window_start_ = now;
      passed_ = 0;
    }
    if (passed_ >= burst_) {
      ++dropped_;
      return std::nullopt;
    }
    ++passed_;
    uint64_t dropped = dropped_;
    dropped_ = 0;
    return dropped;
  }

 private:
  const uint32_t burst_;
  const Clock::duration window_;
  Mutex mu_;
  Clock::time_point window_start_ GUARDED_BY(mu_){};
  uint32_t passed_ GUARDED_BY(mu_) = 0;
  uint64_t dropped_ GUARDED_BY(mu_) = 0;
};

}  // namespace tlsgate::util
