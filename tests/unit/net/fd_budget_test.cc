// net::fd_headroom and fd_shortfall (the start-up and `check` warning) and
// FdBudget (the admission of one more connection), as pure arithmetic.
#include "net/fd_budget.h"

#include <algorithm>
#include <thread>

#include <sstream>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "util/fd_limit.h"

namespace tlsgate::net {
namespace {

// A config with connectors of these max_connections and `workers` worker threads.
config::Config gate_config(std::initializer_list<std::pair<std::string, uint32_t>> max,
                           unsigned workers) {
  config::Config out;
  out.server.worker_threads = workers;
  for (const auto& [name, m] : max) {
    out.connectors[name].name = name;
    out.connectors[name].max_connections = m;
  }
  return out;
}

TEST(FdHeadroom, FourPerWorkerAndOneListenerPerConnectorOnEachPlusTheProcesssOwn) {
  // 16 for the process, 16 spare (FdBudget::kReserve), 4 + connectors per worker.
  EXPECT_EQ(fd_headroom(1, 1), 16 + 16 + 1 * (4 + 1u));
  EXPECT_EQ(fd_headroom(2, 2), 16 + 16 + 2 * (4 + 2u));
  EXPECT_EQ(fd_headroom(3, 16), 16 + 16 + 16 * (4 + 3u));
  EXPECT_EQ(fd_headroom(0, 1), 36u);
}

TEST(FdHeadroom, ZeroWorkerThreadsMeansOnePerCore) {
  config::Server s;
  s.worker_threads = 0;
  EXPECT_EQ(worker_count(s), std::max(1u, std::thread::hardware_concurrency()));
  s.worker_threads = 3;
  EXPECT_EQ(worker_count(s), 3u);
}

TEST(FdShortfall, TwoDescriptorsPerConnectionPlusTheGatesOwn) {
  auto c = gate_config({{"pg", 100}, {"redis", 50}}, 2);
  EXPECT_EQ(fds_needed(c), 2 * 150 + 44u);  // 32 + 2 x (4 + 2)
  EXPECT_EQ(fd_shortfall(c, 344), "");
  EXPECT_NE(fd_shortfall(c, 343), "");
  EXPECT_EQ(fds_needed(gate_config({{"pg", 100}}, 8)), 2 * 100 + 32 + 8 * 5u);
  EXPECT_EQ(fd_shortfall(gate_config({{"pg", 10000}}, 2), util::kNoFdLimit), "");
}

TEST(FdShortfall, NamesTheConnectorsTheNumbersAndTheFix) {
  EXPECT_EQ(fd_shortfall(gate_config({{"pg", 10000}, {"redis", 500}}, 4), 1024),
            "file descriptors: connector.pg.max_connections=10000 and "
            "connector.redis.max_connections=500 may need 21056 (2 per connection, and 56 for "
            "the gate itself: 6 on each of its 4 worker thread(s) (server.worker_threads) and 32 "
            "more), but the limit (RLIMIT_NOFILE) is 1024; clients beyond it are refused. Raise "
            "LimitNOFILE (systemd) / ulimit -n to 21056 or lower connector.pg.max_connections or "
            "connector.redis.max_connections");
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

// A storm of refusals: every one counted, one line per 10 s window that
// says how many so far and which limit to raise.
TEST(NoteFdRefusal, CountsEveryRefusalAndLogsOneLineAWindow) {
  std::ostringstream out;
  auto saved = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "captured", std::make_shared<spdlog::sinks::ostream_sink_st>(out)));
  ConnectorRuntime c;
  c.settings.name = "pg";
  for (int i = 0; i < 1000; ++i) note_fd_refusal(c, 1024);
  spdlog::set_default_logger(saved);

  EXPECT_EQ(c.stats.refused_no_descriptors, 1000u);
  std::string text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_NE(text.find("connector pg: 1 connection(s) refused so far: out of file descriptors "
                      "(limit 1024, RLIMIT_NOFILE); raise LimitNOFILE (systemd) / ulimit -n or "
                      "lower connector.pg.max_connections"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace tlsgate::net
