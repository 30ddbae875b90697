// `tlsgate serve` gives the memory of a spike of connections back to the
// system once they are gone (MemoryTrimmer: malloc_trim after the spike).
#include <fstream>

#include "gate_fixture.h"

namespace tlsgate::e2e::gate {
namespace {

// VmRSS of a process in KiB; -1 if unreadable.
long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return -1;
}

class GateMemory : public GateFixture {};

TEST_F(GateMemory, ASpikeOfConnectionsGivesItsMemoryBackOnceItIsOver) {
  conf_.set("server.log_level", "info");
  start_gate();
  {
    // One connection first: what the first handshake allocates once
    // (OpenSSL's tables, the loop's buffers) is no part of the spike.
    TlsClient warm;
    ASSERT_EQ(warm.connect(gate_port_, client_options()), "") << log();
    ASSERT_TRUE(warm.echoes("warm\n"));
  }
  const long before = rss_kib(gate_->pid());
  ASSERT_GT(before, 0);

  constexpr int kSpike = 800;
  {
    std::vector<std::unique_ptr<TlsClient>> clients;
    for (int i = 0; i < kSpike; ++i) {
      auto c = std::make_unique<TlsClient>();
      ASSERT_EQ(c->connect(gate_port_, client_options()), "") << "client " << i << "\n" << log();
      ASSERT_TRUE(c->echoes("spike\n"));
      clients.push_back(std::move(c));
    }
    const long peak = rss_kib(gate_->pid());
    ASSERT_GT(peak - before, 4 * 1024)
        << "the spike cost the gate less than 4 MiB: " << before << " -> " << peak << " KiB";
    // All of them leave at once (TCP reset, no close_notify).
    for (auto& c : clients) c->reset();

    // The check runs every 2 s; the spike is over once the sessions are gone.
    EXPECT_TRUE(gate_->wait_for_log("connections at the peak, 0 now", Millis(10000))) << log();
    const long after = rss_kib(gate_->pid());
    EXPECT_LT(after - before, (peak - before) / 2)
        << "RSS " << before << " KiB before, " << peak << " KiB with " << kSpike << " connections, "
        << after << " KiB after they closed\n"
        << log();
  }
  // The gate still serves.
  TlsClient c;
  ASSERT_EQ(c.connect(gate_port_, client_options()), "") << log();
  EXPECT_TRUE(c.echoes("after\n"));
}

}  // namespace
}  // namespace tlsgate::e2e::gate
