// Tally: events of one kind (failures, closes) with when they happened and
// why, bounded in memory: at most kMaxTimes times and kMaxReasons distinct
// reasons are kept (the rest are counted under "other"). Lifetimes: a list
// of durations with their percentiles. Owned by one driver thread; read
// after that thread was joined.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "util.h"

namespace tlsgate::bench {

class Tally {
 public:
  void add(uint64_t at, const std::string& why) {
    ++count_;
    if (times_.size() < kMaxTimes) times_.push_back(at);
    if (reasons_.count(why) != 0 || reasons_.size() < kMaxReasons) {
      ++reasons_[why];
    } else {
      ++reasons_["other"];
    }
  }
  uint64_t count() const { return count_; }
  // Events in [from, to).
  uint64_t between(uint64_t from, uint64_t to) const {
    uint64_t n = 0;
    for (uint64_t t : times_) n += t >= from && t < to ? 1 : 0;
    return n;
  }
  const std::vector<uint64_t>& times() const { return times_; }
  // {"reason": count, ...}
  std::string reasons_json() const {
    Json j;
    for (const auto& [why, n] : reasons_) j.add(why.empty() ? "(none)" : why, n);
    return j.str();
  }

 private:
  static constexpr size_t kMaxTimes = 1'000'000;
  static constexpr size_t kMaxReasons = 16;
  uint64_t count_ = 0;
  std::vector<uint64_t> times_;
  std::map<std::string, uint64_t> reasons_;
};

}  // namespace tlsgate::bench
