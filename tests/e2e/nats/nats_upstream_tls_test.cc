// protocol=nats with TLS toward the backend: nats-server's own TLS (the gate
// reads its plaintext INFO, upgrades and verifies it), the wrong CA for it,
// and upstream_tls_first. nats-server 2.9 has no handshake_first, so the
// TLS-first backend is a second protocol=nats connector of the gate (which
// takes a ClientHello first, as nats-server's handshake_first: auto does) in
// front of the plain nats-server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e/nats/nats_gate_fixture.h"
#include "support/loopback.h"

namespace tlsgate::e2e::nats {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class NatsUpstreamTlsTest : public NatsGateFixture {
 protected:
  // A nats-server with TLS on, its certificate from `backend_ca`.
  void start_tls_backend(const test::TestCa& backend_ca) {
    auto leaf = test::make_leaf(backend_ca, {"localhost", "127.0.0.1"});
    test::write_cert(dir_ / "backend.crt", leaf.cert.get());
    test::write_key(dir_ / "backend.key", leaf.key.get());
    nats_.reset();
    nats_ = std::make_unique<NatsServer>(
        dir_ / "nats-tls.log",
        std::vector<std::string>{"--tls", "--tlscert", (dir_ / "backend.crt").string(), "--tlskey",
                                 (dir_ / "backend.key").string()});
    conf_["connector.nc.upstream_address"] = "127.0.0.1:" + std::to_string(nats_->port());
  }
  // Policy `up` for the backend, trusting `ca`.
  void trust_for_upstream(const test::TestCa& ca) {
    fs::create_directories(dir_ / "certificates" / "up" / "trusted");
    test::write_cert(dir_ / "certificates" / "up" / "trusted" / "ca.crt", ca.ca.cert.get());
    conf_["ssl.policy.up.enabled"] = "true";
    conf_["connector.nc.upstream_ssl_policy"] = "up";
  }
};

TEST_F(NatsUpstreamTlsTest, BackendTlsVerifiedInBothModes) {
  auto backend_ca = test::make_test_ca("NATS backend CA");
  start_tls_backend(backend_ca);
  trust_for_upstream(backend_ca);
  start_gate();
  auto r = client("pubsub", verified() + " -n 200");
  EXPECT_EQ(r.code, 0) << r.out;
  auto first = client("tlsfirst", verified() + " -n 200");
  EXPECT_EQ(first.code, 0) << first.out;
  // The backend asked for TLS; its INFO reached the client with the gate's flags.
  EXPECT_THAT(first.out, HasSubstr("\"tls_required\":true"));
}

TEST_F(NatsUpstreamTlsTest, BackendWithTheWrongCaIsRefused) {
  start_tls_backend(test::make_test_ca("NATS backend CA"));
  trust_for_upstream(test::make_test_ca("some other CA"));
  start_gate();
  auto r = client("pubsub", verified() + " -n 1");
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_TRUE(gate_->wait_for_log("[reason: unknown_ca]")) << log();
}

TEST_F(NatsUpstreamTlsTest, BackendWithoutTlsIsRefusedWithAReason) {
  trust_for_upstream(ca_);  // but the fixture's nats-server has TLS off
  start_gate();
  auto r = client("pubsub", verified() + " -n 1");
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_TRUE(gate_->wait_for_log("INFO offers no TLS (neither tls_required nor tls_available)"))
      << log();
}

TEST_F(NatsUpstreamTlsTest, UpstreamTlsFirst) {
  const int inner = test::free_loopback_port();
  // Connector `in`: protocol=nats in front of the plain nats-server, TLS first or INFO.
  conf_.set("connector.in.listen_address", "127.0.0.1:" + std::to_string(inner))
      .set("connector.in.upstream_address", "127.0.0.1:" + std::to_string(nats_->port()))
      .set("connector.in.protocol", "nats")
      .set("connector.in.ssl_policy", "nc")
      .set("connector.in.nats_tls_first_window", "250ms");
  // Connector `nc` reaches it with TLS from the first byte, verifying it (ca_, 127.0.0.1).
  conf_["connector.nc.upstream_address"] = "127.0.0.1:" + std::to_string(inner);
  conf_["connector.nc.upstream_tls_first"] = "true";
  conf_["connector.nc.upstream_server_name"] = "127.0.0.1";
  trust_for_upstream(ca_);
  start_gate();
  auto r = client("pubsub", verified() + " -n 200");
  EXPECT_EQ(r.code, 0) << r.out;
  auto first = client("tlsfirst", verified() + " -n 200");
  EXPECT_EQ(first.code, 0) << first.out;
  EXPECT_TRUE(gate_->wait_for_log("connector in: client 127.0.0.1")) << log();
  // Both of nc's sessions reached `in` with a ClientHello first.
  const auto text = log();
  size_t tls_first_at_in = 0;
  for (size_t at = text.find("connector in: "); at != std::string::npos;
       at = text.find("connector in: ", at + 1)) {
    auto line = text.substr(at, text.find('\n', at) - at);
    if (line.find("NATS client: TLS first") != std::string::npos) ++tls_first_at_in;
    EXPECT_EQ(line.find("NATS client: INFO first"), std::string::npos) << line;
  }
  EXPECT_GE(tls_first_at_in, 4u) << text;  // two connections per client run
}

}  // namespace
}  // namespace tlsgate::e2e::nats
