// WorkerCounters: one writer per counter, any number of readers, no lock.
#include "net/worker_counters.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace tlsgate::net {
namespace {

TEST(WorkerCounters, EachConnectorCountsApartAndOnItsOwnCacheLines) {
  WorkerCounters w(3);
  ASSERT_EQ(w.size(), 3u);
  w.connector(1).handshake(TlsVersion::kTls13, true);
  w.connector(1).handshake(TlsVersion::kTls13, true);
  w.connector(1).handshake_failure(tls::FailureReason::kUnknownCa);
  w.connector(2).upstream_failure(tls::FailureReason::kConnectFailed);
  w.connector(2).revalidation(RevalidationClose::kUserMapChanged);
  w.connector(0).bytes_from_clients.add(4096);

  EXPECT_EQ(w.connector(1).handshakes[static_cast<size_t>(TlsVersion::kTls13)][1].get(), 2u);
  EXPECT_EQ(w.connector(1).handshakes[static_cast<size_t>(TlsVersion::kTls13)][0].get(), 0u);
  EXPECT_EQ(
      w.connector(1).handshake_failures[static_cast<size_t>(tls::FailureReason::kUnknownCa)].get(),
      1u);
  EXPECT_EQ(
      w.connector(0).handshake_failures[static_cast<size_t>(tls::FailureReason::kUnknownCa)].get(),
      0u);
  EXPECT_EQ(w.connector(2)
                .upstream_failures[static_cast<size_t>(tls::FailureReason::kConnectFailed)]
                .get(),
            1u);
  EXPECT_EQ(w.connector(2)
                .revalidation_closed[static_cast<size_t>(RevalidationClose::kUserMapChanged)]
                .get(),
            1u);
  EXPECT_EQ(w.connector(0).bytes_from_clients.get(), 4096u);
  // Two workers' counters never share a cache line.
  auto a = reinterpret_cast<uintptr_t>(&w.connector(0));
  auto b = reinterpret_cast<uintptr_t>(&w.connector(1));
  EXPECT_EQ(a % 64, 0u);
  EXPECT_GE(b - a, sizeof(ConnectorCounters));
  EXPECT_EQ(kVersionNames[static_cast<size_t>(TlsVersion::kTls12)], "TLSv1.2");
  EXPECT_EQ(kRevalidationCloseNames[static_cast<size_t>(RevalidationClose::kPolicyChanged)],
            "policy_changed");
}

// The owner adds while another thread reads: every read is a value the
// owner wrote (never torn, never ahead), and the last read sees them all.
TEST(WorkerCounters, ReadersSeeWhatTheOneWriterAdded) {
  Counter c;
  constexpr uint64_t kAdds = 200000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (uint64_t i = 0; i < kAdds; ++i) c.add(3);
    done = true;
  });
  uint64_t last = 0;
  bool ordered = true;
  for (int i = 0; i < 1000000 && !done; ++i) {
    uint64_t now = c.get();
    if (now < last || now % 3 != 0 || now > 3 * kAdds) ordered = false;
    last = now;
  }
  writer.join();
  EXPECT_TRUE(ordered);
  EXPECT_EQ(c.get(), 3 * kAdds);
}

}  // namespace
}  // namespace tlsgate::net
