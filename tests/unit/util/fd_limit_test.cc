// util::fd_limit, raise_fd_limit, count_open_fds and reserve_fd_slots on this test process.
#include "util/fd_limit.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "util/fd.h"

namespace tlsgate::util {
namespace {

TEST(FdLimit, RaiseLiftsTheSoftLimitToTheHardOne) {
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max == RLIM_INFINITY || saved.rlim_max < 128) {
    GTEST_SKIP() << "needs a finite hard limit of at least 128";
  }
  rlimit low = saved;
  low.rlim_cur = 100;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  EXPECT_EQ(fd_limit().soft, 100u);

  auto raised = raise_fd_limit();
  ASSERT_TRUE(raised) << raised.error().message();
  EXPECT_EQ(raised->soft, static_cast<uint64_t>(saved.rlim_max));
  EXPECT_EQ(raised->hard, static_cast<uint64_t>(saved.rlim_max));
  EXPECT_EQ(fd_limit().soft, static_cast<uint64_t>(saved.rlim_max));
  // Already at the hard limit: nothing to do, same answer.
  EXPECT_EQ(raise_fd_limit()->soft, raised->soft);
  ::setrlimit(RLIMIT_NOFILE, &saved);
}

TEST(FdLimit, CountsOpenDescriptors) {
  auto before = count_open_fds();
  ASSERT_TRUE(before) << before.error().message();
  EXPECT_GE(*before, 3u);  // at least stdin, stdout, stderr
  Fd one(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  Fd two(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(one.valid() && two.valid());
  EXPECT_EQ(count_open_fds().value(), *before + 2);
}

// The slots of this process's descriptor table ("FDSize" in /proc/self/status).
uint64_t fd_table_size() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("FDSize:", 0) == 0) return std::stoull(line.substr(7));
  }
  return 0;
}

TEST(FdLimit, ReserveGrowsTheDescriptorTableAndLeavesNothingOpen) {
  uint64_t soft = fd_limit().soft;
  uint64_t before = fd_table_size();
  ASSERT_GT(before, 0u) << "no FDSize in /proc/self/status";
  uint64_t want = before * 4;
  if (soft < want) GTEST_SKIP() << "needs a soft limit of at least " << want;
  uint64_t open = count_open_fds().value();

  ASSERT_TRUE(reserve_fd_slots(want));
  EXPECT_GE(fd_table_size(), want);
  EXPECT_EQ(count_open_fds().value(), open);
  // The table stays grown, and a new descriptor still takes the lowest slot.
  Fd next(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  EXPECT_GE(fd_table_size(), want);
  EXPECT_LT(static_cast<uint64_t>(next.get()), open + 1);
  // Past the soft limit it stops at the limit instead of failing.
  EXPECT_TRUE(reserve_fd_slots(soft * 2));
  EXPECT_EQ(count_open_fds().value(), open + 1);
}

}  // namespace
}  // namespace tlsgate::util
