// A storm of failing clients cannot grow the gate's log without bound: the
// per-connection failure lines of a connector are rate-limited (20 a
// second), every failure is still counted, and the next line that passes
// says how many were held back.
#include <poll.h>

#include <algorithm>

#include "gate_fixture.h"

namespace tlsgate::e2e::gate {
namespace {

class GateLogFlood : public GateFixture {};

TEST_F(GateLogFlood, PlaintextStormIsLoggedRateLimited) {
  start_gate();
  constexpr int kClients = 400;
  int refused = 0;
  for (int i = 0; i < kClients; ++i) {
    PlainClient c(gate_port_);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.write_all("GET / HTTP/1.0\r\n\r\n"));
    auto r = c.read(1, Millis(5000));
    if (r.data.empty() && r.end == End::kClosed) ++refused;
  }
  EXPECT_EQ(refused, kClients);
  // One more, a second later: its line carries the count held back.
  ::poll(nullptr, 0, 1100);
  {
    PlainClient late(gate_port_);
    ASSERT_TRUE(late.write_all("GET / HTTP/1.0\r\n\r\n"));
    late.read(1, Millis(5000));
  }
  ASSERT_TRUE(gate_->wait_for_log("held back before this one")) << log();
  std::string text = log();
  auto lines = std::count(text.begin(), text.end(), '\n');
  auto plaintext_lines = 0;
  for (size_t at = 0; (at = text.find("client spoke plaintext", at)) != std::string::npos; ++at)
    ++plaintext_lines;
  EXPECT_GE(plaintext_lines, 1);
  // 400 refusals in a few seconds: at most 20 lines a second pass.
  EXPECT_LT(plaintext_lines, kClients / 4) << text;
  EXPECT_LT(lines, kClients / 2) << text;
}

}  // namespace
}  // namespace tlsgate::e2e::gate
