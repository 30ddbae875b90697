// Versioned<T>: one published immutable snapshot, replaced in one atomic swap.
//
// Readers call get() on any thread and keep the shared_ptr<const T> as long as
// they need it (a connection keeps the context it was accepted with). Writers
// build a complete new T and publish() it; nothing ever mutates a published
// T. generation() counts publications, starting at 1 for the first.
// (ClickHouse MultiVersion; STYLE.md practices 2 and 3.)
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace tlsgate::util {

template <typename T>
class Versioned {
 public:
  Versioned() = default;
  explicit Versioned(std::shared_ptr<const T> initial) { publish(std::move(initial)); }

  std::shared_ptr<const T> get() const { return current_.load(std::memory_order_acquire); }

  void publish(std::shared_ptr<const T> next) {
    current_.store(std::move(next), std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }

  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  std::atomic<std::shared_ptr<const T>> current_;
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace tlsgate::util
