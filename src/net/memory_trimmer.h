// MemoryTrimmer: gives the heap a spike of connections freed back to the
// system.
//
// glibc keeps freed memory in its arenas, so after thousands of sessions
// close (each held a TLS session, buffers, a context reference) the gate's
// RSS stays at the peak: 11 MB before, 57 MB after 3,000 connections came
// and went; 24 MB once trimmed (146 -> 48 MB for 9,000). What stays is
// pinned by live objects among the freed ones, mostly Asio's pool of
// per-descriptor state, which it keeps for reuse: it does not grow again
// for later spikes of the same size. malloc_trim(0) hands the free pages
// back. It walks every arena under its lock, so the gate calls it only
// after a spike: when the open sessions have fallen to a quarter of a peak
// of at least kHighWater since the last trim, checked every few seconds.
//
// saw() is called from any worker at accept; spike_over() from one thread
// (the gate's control loop), which then has each worker free the blocks it
// keeps (net/block_pool.h) and trim() the heap.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace tlsgate::net {

class MemoryTrimmer {
 public:
  // Below this many sessions at the peak the heap never grew enough to matter.
  static constexpr uint64_t kHighWater = 128;
  // A spike is over once the sessions are down to peak / kLowWaterDivisor.
  static constexpr uint64_t kLowWaterDivisor = 4;
  // How often the gate calls check(): so at most one trim per interval.
  static constexpr std::chrono::seconds kCheckInterval{2};

  // Notes `sessions` open now (a peak candidate).
  void saw(uint64_t sessions) {
    // A fetch-max: two workers noting peaks at once keep the larger.
    uint64_t peak = peak_.load(std::memory_order_relaxed);
    while (sessions > peak &&
           !peak_.compare_exchange_weak(peak, sessions, std::memory_order_relaxed)) {
    }
  }

  // With `sessions` open now: whether a spike has passed since the last
  // trim; if so the peak starts over from `sessions`.
  bool spike_over(uint64_t sessions);

  // malloc_trim(0): the bytes of RSS it gave back.
  static uint64_t trim();

  uint64_t peak() const { return peak_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> peak_{0};
};

}  // namespace tlsgate::net
