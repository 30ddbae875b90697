#include "e2e/nats/nats_gate_fixture.h"

#include <unistd.h>

#include <iostream>
#include <stdexcept>
#include <utility>

#include "support/loopback.h"

namespace tlsgate::e2e::nats {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string NatsServer::binary() {
  for (const char* p : {"/usr/sbin/nats-server", "/usr/bin/nats-server"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

NatsServer::NatsServer(const fs::path& log, std::vector<std::string> args, int port)
    : port_(port != 0 ? port : test::free_loopback_port()) {
  std::vector<std::string> argv{binary(), "-a", "127.0.0.1", "-p", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  child_ =
      std::make_unique<test::ChildProcess>(argv, test::ChildProcess::Options{.output_file = log});
  if (!child_->wait_for_port(port_, 10s)) {
    throw std::runtime_error("nats-server did not listen on " + std::to_string(port_) + ":\n" +
                             child_->output());
  }
}

void NatsGateFixture::SetUp() {
  if (NatsServer::binary().empty())
    GTEST_SKIP() << "nats-server not installed (scripts/install-deps.sh test)";
  if (!fs::exists(client_binary()))
    GTEST_SKIP() << "NATS test client not built: golang-go or golang-github-nats-io-go-nats-dev "
                    "missing (scripts/install-deps.sh test)";
  GateTest::SetUp();
  if (HasFatalFailure()) return;
  nats_ = std::make_unique<NatsServer>(dir_ / "nats-server.log");
  conf_.set("server.log_level", "debug")
      .set("server.shutdown_timeout", "1")
      .set("ssl.policy.nc.enabled", "true")
      .set("ssl.policy.nc.client_auth", "NONE")
      .set("connector.nc.listen_address", "127.0.0.1:" + std::to_string(gate_port_))
      .set("connector.nc.upstream_address", "127.0.0.1:" + std::to_string(nats_->port()))
      .set("connector.nc.protocol", "nats")
      .set("connector.nc.tls_level", "REQUIRED")
      // A TLS-first client's ClientHello must arrive within the window after
      // accept; wider than the default so a loaded CI machine cannot turn a
      // TLS-first client into an INFO-first one.
      .set("connector.nc.nats_tls_first_window", "250ms");
}

void NatsGateFixture::TearDown() {
  GateTest::TearDown();
  if (HasFailure() && nats_)
    std::cerr << "--- nats-server ---\n" << nats_->log() << "--- end ---\n";
}

fs::path NatsGateFixture::client_binary() {
  return fs::read_symlink("/proc/self/exe").parent_path() / "nats_client";
}

ClientRun NatsGateFixture::client(const std::string& mode, int port,
                                  const std::string& args) const {
  ClientRun r;
  r.out = test::run_command("timeout 60 " + test::q(client_binary()) + " " + mode +
                                " -addr 127.0.0.1:" + std::to_string(port) + " " + args + " 2>&1",
                            &r.code);
  return r;
}

std::string NatsGateFixture::verified(const std::string& cn) const {
  std::string args = "-ca " + test::q(ca_file_);
  if (!cn.empty()) {
    args += " -cert " + test::q(dir_ / (cn + ".crt")) + " -key " + test::q(dir_ / (cn + ".key"));
  }
  return args;
}

void NatsGateFixture::make_client(const std::string& cn) {
  auto leaf = test::make_leaf(ca_, {cn}, false, true);
  test::write_cert(dir_ / (cn + ".crt"), leaf.cert.get());
  test::write_key(dir_ / (cn + ".key"), leaf.key.get());
}

}  // namespace tlsgate::e2e::nats
