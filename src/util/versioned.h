// Versioned<T>: one published immutable snapshot, replaced in one swap.
//
// Readers call get() on any thread and keep the shared_ptr<const T> as long as
// they need it (a connection keeps the context it was accepted with). Writers
// build a complete new T and publish() it; nothing ever mutates a published
// T. generation() counts publications, starting at 1 for the first.
// (ClickHouse MultiVersion; STYLE.md practices 2 and 3.)
//
// The pointer is guarded by a mutex held only to copy it, not by
// std::atomic<std::shared_ptr>: libstdc++ 12's atomic<shared_ptr>::load()
// releases its internal lock with relaxed order, so its read of the pointer
// and a concurrent store() are a data race by the C++ memory model (and
// ThreadSanitizer reports it). get() runs once per connection or ticket,
// where an uncontended lock costs nothing measurable.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "util/mutex.h"

namespace tlsgate::util {

template <typename T>
class Versioned {
 public:
  Versioned() = default;
  explicit Versioned(std::shared_ptr<const T> initial) { publish(std::move(initial)); }

  std::shared_ptr<const T> get() const {
    MutexLock lock(mu_);
    return current_;
  }

  void publish(std::shared_ptr<const T> next) {
    {
      MutexLock lock(mu_);
      current_.swap(next);
      generation_.fetch_add(1, std::memory_order_acq_rel);
    }
    // `next` now holds the old snapshot: released outside the lock.
  }

  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable Mutex mu_;
  std::shared_ptr<const T> current_ GUARDED_BY(mu_);
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace tlsgate::util
