// The fixture of the `tlsgate serve` end-to-end tests (protocol=tcp): a
// test::GateTest (CA, the gate's certificate, conf_, start_gate()) in front
// of an echo backend, with policy `gate` on connector `echo`, client
// certificates, and `openssl s_client` runs. The clients are in tls_client.h.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "e2e/gate/tls_client.h"
#include "pki/issuer.h"
#include "support/echo_server.h"
#include "support/gate_test.h"
#include "support/loopback.h"
#include "support/process.h"

namespace tlsgate::e2e::gate {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using test::q;

// Milliseconds from `t` to now.
inline long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// `openssl s_client -connect 127.0.0.1:PORT ARGS` with stdin from /dev/null:
// handshake, print the session, close. Bounded by `timeout 15`; code and
// out (stdout and stderr).
test::CommandResult s_client(int port, const std::string& args);

struct ClientCert {
  fs::path cert, key;
  pki::Issued issued;
};

class GateFixture : public test::GateTest {
 protected:
  GateFixture() : GateTest("gate test CA", fs::path("certs") / "gate") {}
  void SetUp() override;

  // A client certificate issued by ca for CN/SAN `name`, written to dir_/clients/.
  ClientCert client_cert(const std::string& name, const test::TestCa& ca);

  TlsClientOptions client_options() const;
  TlsClientOptions client_options(const ClientCert& c) const;

  // The common part of an s_client command line against the gate.
  std::string s_client_args() const;
  // An interactive `openssl s_client` that verifies the gate (plus `extra`
  // arguments); its stdin is a pipe, its output in dir_/s_client.out.
  std::unique_ptr<test::ChildProcess> start_s_client(const std::vector<std::string>& extra = {});

  test::EchoServer echo_;
};

}  // namespace tlsgate::e2e::gate
