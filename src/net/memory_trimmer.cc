#include "net/memory_trimmer.h"

#include <unistd.h>

#include <fstream>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tlsgate::net {

namespace {

// Resident set size in bytes (the second field of /proc/self/statm, in pages); 0 if unknown.
uint64_t rss_bytes() {
  uint64_t size = 0;
  uint64_t resident = 0;
  std::ifstream("/proc/self/statm") >> size >> resident;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

bool MemoryTrimmer::spike_over(uint64_t sessions) {
  saw(sessions);
  uint64_t peak = peak_.load(std::memory_order_relaxed);
  if (peak < kHighWater || sessions > peak / kLowWaterDivisor) return false;
  // Start over from `sessions`, unless a worker noted a new peak meanwhile.
  return peak_.compare_exchange_strong(peak, sessions, std::memory_order_relaxed);
}

uint64_t MemoryTrimmer::trim() {
  uint64_t before = rss_bytes();
#if defined(__GLIBC__)
  ::malloc_trim(0);
#endif
  uint64_t after = rss_bytes();
  return before > after ? before - after : 0;
}

}  // namespace tlsgate::net
