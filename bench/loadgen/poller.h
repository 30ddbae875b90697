// Poller: an edge-triggered epoll set. Each fd is registered once for input
// and output with a 64-bit token; the owner drives an fd until it would block
// and waits for the next edge. Single-threaded.
#pragma once

#include <sys/epoll.h>

#include <array>
#include <cstdint>

namespace tlsgate::bench {

class Poller {
 public:
  Poller();
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  void add(int fd, uint64_t token);
  // Waits at most timeout_ns (0: poll, no wait); returns the number of events.
  int wait(uint64_t timeout_ns);
  uint64_t token(int i) const { return events_[static_cast<size_t>(i)].data.u64; }
  uint32_t flags(int i) const { return events_[static_cast<size_t>(i)].events; }

 private:
  int fd_;
  std::array<epoll_event, 256> events_{};
};

}  // namespace tlsgate::bench
