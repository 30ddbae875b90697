// `tlsgate serve`: ssl.policy.X.handshake_timeout follows a reload (SIGHUP)
// for new connections; a connection keeps the value it was accepted with.
#include <signal.h>

#include <sstream>
#include <thread>

#include "gate_fixture.h"

namespace tlsgate::e2e::gate {
namespace {

// Until the kernel's accept queues of the gate's listeners on `port` are
// empty: every connection made before has been accepted by the gate (ss
// shows a listener's queue length as Recv-Q). A loaded machine can leave a
// connection queued past a reload, and the gate would then give it the
// reloaded timeout.
bool wait_accepted(int port, Millis deadline) {
  const auto until = Clock::now() + deadline;
  const std::string cmd = "ss -Hltn 'sport = :" + std::to_string(port) + "'";
  while (Clock::now() < until) {
    auto r = test::run_shell(cmd);
    bool queued = false;
    std::istringstream lines(r.out);
    for (std::string state, recv_q; lines >> state >> recv_q;) {
      queued = queued || recv_q != "0";
      std::string rest;
      std::getline(lines, rest);
    }
    if (r.code == 0 && !r.out.empty() && !queued) return true;
    std::this_thread::sleep_for(Millis(20));
  }
  return false;
}

class GateHandshakeTimeout : public GateFixture {};

TEST_F(GateHandshakeTimeout, ReloadedTimeoutAppliesToNewConnections) {
  conf_.set("ssl.policy.gate.handshake_timeout", "30");
  start_gate();
  PlainClient before(gate_port_);  // accepted under 30 s; says nothing
  ASSERT_TRUE(before.connected());
  ASSERT_TRUE(wait_accepted(gate_port_, Millis(5000)));

  conf_.set("ssl.policy.gate.handshake_timeout", "0.5");
  test::write_text(gate_->config_file(), conf_.text());
  ASSERT_EQ(::kill(gate_->pid(), SIGHUP), 0);
  ASSERT_TRUE(gate_->wait_for_log("reloaded after a configuration reload", Millis(5000))) << log();

  auto t0 = Clock::now();
  PlainClient silent(gate_port_);
  ASSERT_TRUE(silent.connected());
  auto r = silent.read(1, Millis(5000));
  auto took = ms_since(t0);
  EXPECT_EQ(r.end, End::kClosed) << to_string(r.end) << " after " << took << " ms\n" << log();
  EXPECT_GE(took, 400);
  EXPECT_LT(took, 2000) << "the reloaded handshake_timeout=0.5 did not apply\n" << log();
  EXPECT_TRUE(gate_->wait_for_log(
      "TLS handshake not completed within 0.5s (ssl.policy.gate.handshake_timeout)"))
      << log();

  // The connection from before the reload keeps its 30 s.
  EXPECT_EQ(before.read(1, Millis(200)).end, End::kTimeout);
}

}  // namespace
}  // namespace tlsgate::e2e::gate
