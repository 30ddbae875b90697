// util::fd_limit, raise_fd_limit and count_open_fds on this test process.
#include "util/fd_limit.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

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

}  // namespace
}  // namespace tlsgate::util
