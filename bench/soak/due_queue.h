// DueQueue: what a soak driver has to do at a given time — send the next
// echo on a slot, reopen it, drain it — in a min-heap keyed by the time.
// An entry carries the slot's generation when it was queued, so an entry
// for a connection that has since closed is recognised and dropped.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

namespace tlsgate::bench {

struct Due {
  uint64_t at = 0;  // monotonic ns
  size_t slot = 0;
  uint32_t gen = 0;
  int kind = 0;  // the driver's own meaning
  bool operator>(const Due& o) const { return at > o.at; }
};

class DueQueue {
 public:
  void push(const Due& d) { q_.push(d); }
  uint64_t next() const { return q_.empty() ? UINT64_MAX : q_.top().at; }
  // Takes the earliest entry that is due at `now`; false when there is none.
  bool pop_due(uint64_t now, Due* out) {
    if (q_.empty() || q_.top().at > now) return false;
    *out = q_.top();
    q_.pop();
    return true;
  }

 private:
  std::priority_queue<Due, std::vector<Due>, std::greater<>> q_;
};

}  // namespace tlsgate::bench
