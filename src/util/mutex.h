// Mutex and MutexLock: std::mutex and std::lock_guard with the capability
// annotations clang's -Wthread-safety checks (util/thread_annotations.h).
// Use them for every mutex that guards fields, and mark those fields
// GUARDED_BY(mu_), so that an access without the lock fails the clang build.
#pragma once

#include <mutex>

#include "util/thread_annotations.h"

namespace tlsgate::util {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Holds mu for its scope.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() RELEASE() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

}  // namespace tlsgate::util
