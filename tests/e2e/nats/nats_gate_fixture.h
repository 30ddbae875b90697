// NatsGateFixture: what the protocol=nats end-to-end suites share. Each test
// is a test::GateTest (a CA and the gate's certificate in a folder of its
// own, conf_, start_gate()) with connector `nc` and policy `nc` in front of
// an unmodified nats-server (Debian's, 2.9, TLS off) on 127.0.0.1, started
// per test. Clients are stock: nats.go 1.22 (the INFO upgrade) and a Go
// program on crypto/tls that starts TLS on the first byte (nats.go 1.22 has
// no TLSHandshakeFirst), both in nats_client/main.go, built with the tests.
// One test thread; nothing here is thread-safe.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/gate_test.h"
#include "support/process.h"
#include "support/test_pki.h"

namespace tlsgate::e2e::nats {

// One nats-server, stopped when destroyed.
class NatsServer {
 public:
  // `args` after the port and address (cluster, TLS, config file ...).
  explicit NatsServer(const std::filesystem::path& log, std::vector<std::string> args = {},
                      int port = 0);
  int port() const { return port_; }
  std::string log() const { return child_->output(); }
  bool wait_for_log(const std::string& needle, test::Millis deadline) {
    return child_->wait_for_output(needle, deadline);
  }
  // Where nats-server is, or "" when it is not installed.
  static std::string binary();

 private:
  int port_;
  std::unique_ptr<test::ChildProcess> child_;
};

struct ClientRun {
  int code = -1;
  std::string out;
};

class NatsGateFixture : public test::GateTest {
 protected:
  NatsGateFixture() : GateTest("NATS gate test CA", std::filesystem::path("certificates") / "nc") {}
  void SetUp() override;
  void TearDown() override;

  // The built client next to the test binary.
  static std::filesystem::path client_binary();
  // `nats_client MODE -addr 127.0.0.1:PORT ARGS` with a deadline.
  ClientRun client(const std::string& mode, int port, const std::string& args) const;
  ClientRun client(const std::string& mode, const std::string& args) const {
    return client(mode, gate_port_, args);
  }
  // -ca for the gate's CA; with a client certificate of `cn` when given.
  std::string verified(const std::string& cn = "") const;
  // A client certificate of ca_ for CN `cn`, written to dir_/cn.{crt,key}.
  void make_client(const std::string& cn);

  std::unique_ptr<NatsServer> nats_;
};

}  // namespace tlsgate::e2e::nats
