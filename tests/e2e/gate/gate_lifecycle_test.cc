// `tlsgate serve`: max_connections, and the SIGTERM drain bounded by
// server.shutdown_timeout.
#include <poll.h>
#include <signal.h>

#include "gate_fixture.h"
#include "util/fd.h"

namespace tlsgate::e2e::gate {
namespace {

class GateLimits : public GateFixture {};

TEST_F(GateLimits, ConnectionAboveMaxConnectionsIsClosedAtOnce) {
  // One worker, so that the readiness probe's session is gone before the
  // first real client arrives on the same event loop.
  conf_.set("server.worker_threads", "1").set("connector.echo.max_connections", "1");
  start_gate();

  // The readiness probe's session may still hold the one slot for a moment
  // (it ends asynchronously): bounded retries until the first client is in.
  std::unique_ptr<TlsClient> admitted_first;
  for (int attempt = 0; attempt < 50 && !admitted_first; ++attempt) {
    auto c = std::make_unique<TlsClient>();
    if (c->connect(gate_port_, client_options()).empty() && c->echoes("first\n")) {
      admitted_first = std::move(c);
    } else {
      ::poll(nullptr, 0, 20);
    }
  }
  ASSERT_TRUE(admitted_first) << log();
  TlsClient& first = *admitted_first;

  auto t0 = Clock::now();
  TlsClient second;
  auto err = second.connect(gate_port_, client_options(), Millis(5000));
  EXPECT_NE(err, "") << "a second connection got in above max_connections=1";
  EXPECT_LT(ms_since(t0), 2000) << "the second connection was not closed at once: " << err;
  EXPECT_TRUE(gate_->wait_for_log("max_connections=1 reached")) << log();

  // The first connection is unaffected, and the backend never saw the second.
  EXPECT_TRUE(first.echoes("still here\n"));
  EXPECT_EQ(echo_.accepted(), 1);

  // Once the first one is gone, a new client gets in (the slot frees up
  // asynchronously; bounded retries).
  ASSERT_TRUE(first.shutdown_write());
  EXPECT_EQ(first.read_to_end().end, End::kCloseNotify);
  bool admitted = false;
  for (int attempt = 0; attempt < 50 && !admitted; ++attempt) {
    TlsClient next;
    admitted =
        next.connect(gate_port_, client_options(), Millis(2000)).empty() && next.echoes("third\n");
    if (!admitted) ::poll(nullptr, 0, 20);
  }
  EXPECT_TRUE(admitted) << log();
}

TEST_F(GateLimits, PlaintextConnectionAboveTheLimitIsClosedToo) {
  conf_.set("server.worker_threads", "1")
      .set("connector.echo.max_connections", "1")
      .set("connector.echo.tls_level", "OPTIONAL");
  start_gate();
  std::unique_ptr<PlainClient> admitted_first;  // bounded retries, as above
  for (int attempt = 0; attempt < 50 && !admitted_first; ++attempt) {
    auto c = std::make_unique<PlainClient>(gate_port_);
    if (c->write_all("one\n") && c->read(4, Millis(2000)).data == "one\n") {
      admitted_first = std::move(c);
    } else {
      ::poll(nullptr, 0, 20);
    }
  }
  ASSERT_TRUE(admitted_first) << log();
  PlainClient second(gate_port_);
  ASSERT_TRUE(second.connected());
  second.write_all("two\n");
  auto r = second.read(4, Millis(3000));
  EXPECT_EQ(r.data, "");
  EXPECT_EQ(r.end, End::kClosed) << to_string(r.end);
  EXPECT_TRUE(gate_->wait_for_log("max_connections=1 reached")) << log();
}

class GateShutdown : public GateFixture {};

TEST_F(GateShutdown, SigtermWithNoConnectionsExitsZeroAtOnce) {
  conf_.set("server.shutdown_timeout", "30");  // not waited for: nothing is open
  start_gate();
  auto t0 = Clock::now();
  auto status = gate_->terminate(Millis(5000));
  auto took = ms_since(t0);
  ASSERT_TRUE(status.has_value()) << "still running 5 s after SIGTERM\n" << log();
  EXPECT_EQ(*status, 0) << log();
  EXPECT_LT(took, 1500) << log();
  EXPECT_NE(log().find("received SIGTERM: stopping"), std::string::npos) << log();
}

TEST_F(GateShutdown, IdleConnectionIsCutAtTheShutdownTimeout) {
  conf_.set("server.shutdown_timeout", "1");
  start_gate();
  TlsClient idle;
  ASSERT_EQ(idle.connect(gate_port_, client_options()), "");
  ASSERT_TRUE(idle.echoes("then nothing\n"));

  auto t0 = Clock::now();
  ASSERT_EQ(::kill(gate_->pid(), SIGTERM), 0);
  ASSERT_TRUE(gate_->wait_for_log("draining: 1 connection(s) open", Millis(2000))) << log();
  // The listener closes at once: new connections are refused during the drain.
  bool refused_new = false;
  for (int i = 0; i < 40 && !refused_new; ++i) {
    refused_new = !test::loopback_port_accepts(gate_port_);
    if (!refused_new) ::poll(nullptr, 0, 10);
  }
  EXPECT_TRUE(refused_new) << "the gate still accepts connections while draining";

  auto status = gate_->wait_exit(Millis(5000));
  auto took = ms_since(t0);
  ASSERT_TRUE(status.has_value()) << "still running 5 s after SIGTERM\n" << log();
  EXPECT_LT(took, 3000) << log();
  EXPECT_GE(took, 900) << "did not wait for the connection";
  EXPECT_EQ(*status, 1) << "gate.h: run() returns 1 when connections had to be cut\n" << log();
  EXPECT_NE(log().find("shutdown_timeout reached: closing 1 connection(s)"), std::string::npos)
      << log();
  // The idle client sees its connection end.
  auto r = idle.read(1, Millis(2000));
  EXPECT_EQ(r.data, "");
  EXPECT_NE(r.end, End::kTimeout);
}

TEST_F(GateShutdown, ConnectionThatFinishesDuringTheDrainGivesACleanExit) {
  conf_.set("server.shutdown_timeout", "20");
  start_gate();
  TlsClient busy;
  ASSERT_EQ(busy.connect(gate_port_, client_options()), "");
  ASSERT_TRUE(busy.echoes("before\n"));

  ASSERT_EQ(::kill(gate_->pid(), SIGTERM), 0);
  ASSERT_TRUE(gate_->wait_for_log("draining: 1 connection(s) open", Millis(2000))) << log();
  // Established connections keep working while the gate drains.
  EXPECT_TRUE(busy.echoes("during the drain\n"));
  EXPECT_TRUE(gate_->running());
  auto t0 = Clock::now();
  ASSERT_TRUE(busy.shutdown_write());
  EXPECT_EQ(busy.read_to_end().end, End::kCloseNotify);
  auto status = gate_->wait_exit(Millis(5000));
  ASSERT_TRUE(status.has_value()) << log();
  EXPECT_EQ(*status, 0) << log();
  EXPECT_LT(ms_since(t0), 2000);
  EXPECT_EQ(log().find("shutdown_timeout reached"), std::string::npos) << log();
}

class GateStartup : public GateFixture {};

TEST_F(GateStartup, ListenAddressInUseExitsTwoAndNamesTheKey) {
  // Hold the port (no SO_REUSEPORT) so that the gate cannot bind it.
  int taken = 0;
  util::Fd holder(test::listen_loopback(&taken, 8));
  gate_port_ = taken;
  conf_.set("connector.echo.listen_address", "127.0.0.1:" + std::to_string(taken));
  gate_ = std::make_unique<test::GateProcess>(dir_, conf_.text());
  auto status = gate_->wait_exit(Millis(10000));
  holder.reset();
  ASSERT_TRUE(status.has_value()) << "still running with its port taken\n" << log();
  EXPECT_EQ(*status, 2) << log();
  EXPECT_NE(log().find("connector.echo.listen_address: cannot listen on 127.0.0.1:" +
                       std::to_string(gate_port_)),
            std::string::npos)
      << log();
}

TEST_F(GateStartup, PolicyWithoutTrustedDirExitsTwoAndNamesTheKey) {
  conf_.set("ssl.policy.gate.client_auth", "REQUIRE");
  fs::remove_all(policy_dir_ / "trusted");
  gate_ = std::make_unique<test::GateProcess>(dir_, conf_.text());
  auto status = gate_->wait_exit(Millis(10000));
  ASSERT_TRUE(status.has_value()) << log();
  EXPECT_EQ(*status, 2) << log();
  EXPECT_NE(log().find("ssl.policy.gate.trusted_dir"), std::string::npos) << log();
  EXPECT_FALSE(test::loopback_port_accepts(gate_port_));
}

class GateTimeouts : public GateFixture {};

TEST_F(GateTimeouts, ClientThatNeverFinishesTheHandshakeIsClosedAtHandshakeTimeout) {
  conf_.set("ssl.policy.gate.handshake_timeout", "0.5");
  start_gate();
  PlainClient silent(gate_port_);
  PlainClient stalled(gate_port_);
  ASSERT_TRUE(silent.connected() && stalled.connected());
  ASSERT_TRUE(
      stalled.write_all(std::string("\x16\x03\x01\x00\xff", 5)));  // a ClientHello that never comes
  auto t0 = Clock::now();
  auto r1 = silent.read(1, Millis(5000));
  auto r2 = stalled.read(1, Millis(5000));
  auto took = ms_since(t0);
  EXPECT_EQ(r1.end, End::kClosed) << to_string(r1.end);
  EXPECT_EQ(r2.end, End::kClosed) << to_string(r2.end);
  EXPECT_EQ(r1.data, "");
  EXPECT_LT(took, 3000);
  EXPECT_GE(took, 300);
  EXPECT_TRUE(gate_->wait_for_log(
      "TLS handshake not completed within 0.5s (ssl.policy.gate.handshake_timeout)"))
      << log();
  EXPECT_EQ(echo_.accepted(), 0);
}

TEST_F(GateTimeouts, IdleConnectionIsClosedAtIdleTimeoutAndABusyOneIsNot) {
  conf_.set("server.idle_timeout", "0.6");
  start_gate();
  TlsClient idle, busy;
  ASSERT_EQ(idle.connect(gate_port_, client_options()), "");
  ASSERT_EQ(busy.connect(gate_port_, client_options()), "");
  ASSERT_TRUE(idle.echoes("one\n"));
  auto t0 = Clock::now();
  // Keep `busy` talking every 100 ms for about a second.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(busy.echoes("tick\n")) << "at " << ms_since(t0) << " ms";
    ::poll(nullptr, 0, 100);
  }
  auto r = idle.read(1, Millis(3000));
  EXPECT_EQ(r.data, "");
  EXPECT_NE(r.end, End::kTimeout);
  EXPECT_TRUE(gate_->wait_for_log("idle for 0.6s (server.idle_timeout)")) << log();
  EXPECT_TRUE(busy.echoes("still busy\n"));
}

TEST_F(GateTimeouts, UnreachableBackendClosesTheClientAndSaysWhy) {
  int dead_port = test::free_loopback_port();  // nothing listens there
  conf_.set("connector.echo.upstream_address", "127.0.0.1:" + std::to_string(dead_port));
  start_gate();
  EXPECT_TRUE(refused(gate_port_, client_options()));
  // At warning level, so that an outage shows at log_level=warn, with what to check.
  EXPECT_TRUE(gate_->wait_for_log(" warning connector echo: client 127.0.0.1:"));
  EXPECT_TRUE(
      gate_->wait_for_log("cannot connect to backend 127.0.0.1:" + std::to_string(dead_port) +
                          ": Connection refused; is it running and listening there? "
                          "(connector.echo.upstream_address) [reason: connect_failed]"))
      << log();
  EXPECT_TRUE(gate_->running());
}

}  // namespace
}  // namespace tlsgate::e2e::gate
