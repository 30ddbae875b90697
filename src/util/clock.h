// Clock: the seam for time (STYLE.md practice 16).
//
// Code that decides by wall-clock time (expiry warnings, CRL freshness,
// rotation deadlines) takes a const Clock& so tests can pin "now" with
// FixedClock instead of waiting. SystemClock is stateless and thread-safe.
#pragma once

#include <chrono>

namespace tlsgate::util {

using SystemTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime now() const = 0;
};

class SystemClock final : public Clock {
 public:
  SystemTime now() const override { return std::chrono::system_clock::now(); }
  static const SystemClock& instance();
};

class FixedClock final : public Clock {
 public:
  explicit FixedClock(SystemTime now) : now_(now) {}
  SystemTime now() const override { return now_; }
  void set(SystemTime now) { now_ = now; }

 private:
  SystemTime now_;
};

}  // namespace tlsgate::util
