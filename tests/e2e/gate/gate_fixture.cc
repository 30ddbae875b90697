#include "e2e/gate/gate_fixture.h"

#include <signal.h>

namespace tlsgate::e2e::gate {

test::CommandResult s_client(int port, const std::string& args) {
  test::CommandResult r;
  r.out =
      test::run_command("timeout 15 openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                            " " + args + " </dev/null",
                        &r.code);
  return r;
}

void GateFixture::SetUp() {
  GateTest::SetUp();
  if (HasFatalFailure()) return;
  // The clients here write to sockets the gate may close: that must fail
  // the write, not kill the test (children start with SIGPIPE at default).
  ::signal(SIGPIPE, SIG_IGN);
  fs::create_directories(dir_ / "clients");
  conf_.set("server.worker_threads", "2")
      .set("server.log_level", "debug")
      .set("server.shutdown_timeout", "1")
      .set("ssl.policy.gate.enabled", "true")
      .set("ssl.policy.gate.base_directory", "certs/gate")
      .set("ssl.policy.gate.client_auth", "NONE")
      .set("connector.echo.listen_address", "127.0.0.1:" + std::to_string(gate_port_))
      .set("connector.echo.upstream_address", "127.0.0.1:" + std::to_string(echo_.port()))
      .set("connector.echo.ssl_policy", "gate");
}

ClientCert GateFixture::client_cert(const std::string& name, const test::TestCa& ca) {
  ClientCert c;
  c.issued = test::make_leaf(ca, {name}, false, true);
  c.cert = dir_ / "clients" / (name + ".crt");
  c.key = dir_ / "clients" / (name + ".key");
  test::write_cert(c.cert, c.issued.cert.get());
  test::write_key(c.key, c.issued.key.get());
  return c;
}

TlsClientOptions GateFixture::client_options() const {
  TlsClientOptions o;
  o.ca_file = ca_file_;
  return o;
}

TlsClientOptions GateFixture::client_options(const ClientCert& c) const {
  auto o = client_options();
  o.cert_file = c.cert;
  o.key_file = c.key;
  return o;
}

std::string GateFixture::s_client_args() const {
  return "-servername localhost -verify_return_error -CAfile " + q(ca_file_);
}

std::unique_ptr<test::ChildProcess> GateFixture::start_s_client(
    const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {"openssl",
                                   "s_client",
                                   "-connect",
                                   "127.0.0.1:" + std::to_string(gate_port_),
                                   "-servername",
                                   "localhost",
                                   "-verify_return_error",
                                   "-CAfile",
                                   ca_file_.string(),
                                   "-nocommands"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<test::ChildProcess>(
      argv, test::ChildProcess::Options{.output_file = dir_ / "s_client.out", .stdin_pipe = true});
}

}  // namespace tlsgate::e2e::gate
