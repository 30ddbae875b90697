// net::fd_shortfall (the start-up and `check` warning) and FdBudget (the
// admission of one more connection), as pure arithmetic.
#include "net/fd_budget.h"

#include <gtest/gtest.h>

#include "util/fd_limit.h"

namespace tlsgate::net {
namespace {

std::map<std::string, config::Connector> connectors(
    std::initializer_list<std::pair<std::string, uint32_t>> max) {
  std::map<std::string, config::Connector> out;
  for (const auto& [name, m] : max) {
    out[name].name = name;
    out[name].max_connections = m;
  }
  return out;
}

TEST(FdShortfall, TwoDescriptorsPerConnectionPlusTheGatesOwn) {
  EXPECT_EQ(fds_needed(connectors({{"pg", 100}, {"redis", 50}})), 2 * 150 + 64u);
  EXPECT_EQ(fd_shortfall(connectors({{"pg", 100}, {"redis", 50}}), 364), "");
  EXPECT_EQ(fd_shortfall(connectors({{"pg", 10000}}), util::kNoFdLimit), "");
}

TEST(FdShortfall, NamesTheConnectorsTheNumbersAndTheFix) {
  EXPECT_EQ(fd_shortfall(connectors({{"pg", 10000}, {"redis", 500}}), 1024),
            "file descriptors: connector.pg.max_connections=10000 and "
            "connector.redis.max_connections=500 may need 21064 (2 per connection + 64 for the "
            "gate), but the limit (RLIMIT_NOFILE) is 1024; clients beyond it are refused. Raise "
            "LimitNOFILE (systemd) / ulimit -n to 21064 or lower connector.pg.max_connections or "
            "connector.redis.max_connections");
  EXPECT_NE(fd_shortfall(connectors({{"pg", 150}}), 363), "");
}

TEST(FdBudget, AdmitsWhileTwoDescriptorsAndTheReserveFit) {
  FdBudget b(64, 20);  // (64 - 20 - 16) / 2
  EXPECT_EQ(b.max_sessions(), 14u);
  EXPECT_TRUE(b.admits(13));
  EXPECT_FALSE(b.admits(14));
  EXPECT_EQ(b.limit(), 64u);
}

TEST(FdBudget, NothingFitsWhenStartUpTookItAll) {
  EXPECT_EQ(FdBudget(30, 20).max_sessions(), 0u);
  EXPECT_FALSE(FdBudget(30, 20).admits(0));
  EXPECT_FALSE(FdBudget(10, 20).admits(0));
}

TEST(FdBudget, NoLimitAdmitsEveryone) {
  EXPECT_TRUE(FdBudget().admits(1'000'000));
  EXPECT_TRUE(FdBudget(util::kNoFdLimit, 20).admits(1'000'000));
}

}  // namespace
}  // namespace tlsgate::net
