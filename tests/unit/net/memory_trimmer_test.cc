// net::MemoryTrimmer: when a spike of sessions counts as over.
#include "net/memory_trimmer.h"

#include <gtest/gtest.h>

namespace tlsgate::net {
namespace {

TEST(MemoryTrimmer, ASpikeIsOverAtAQuarterOfItsPeak) {
  MemoryTrimmer t;
  t.saw(1000);
  EXPECT_FALSE(t.spike_over(900));
  EXPECT_FALSE(t.spike_over(251));
  EXPECT_TRUE(t.spike_over(250));
  // The peak starts over from there: once those 250 leave too, what they
  // held goes back as well; then nothing more until the next spike.
  EXPECT_EQ(t.peak(), 250u);
  EXPECT_FALSE(t.spike_over(100));
  EXPECT_TRUE(t.spike_over(0));
  EXPECT_FALSE(t.spike_over(0));
}

TEST(MemoryTrimmer, FewSessionsAreNoSpike) {
  MemoryTrimmer t;
  t.saw(MemoryTrimmer::kHighWater - 1);
  EXPECT_FALSE(t.spike_over(0));
  t.saw(MemoryTrimmer::kHighWater);
  EXPECT_TRUE(t.spike_over(0));
}

TEST(MemoryTrimmer, PeaksSeenBetweenChecksCount) {
  MemoryTrimmer t;
  EXPECT_FALSE(t.spike_over(10));
  t.saw(400);  // at accept, between two checks
  t.saw(300);  // lower: the peak stays
  EXPECT_EQ(t.peak(), 400u);
  EXPECT_TRUE(t.spike_over(100));
}

}  // namespace
}  // namespace tlsgate::net
