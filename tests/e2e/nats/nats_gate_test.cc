// protocol=nats with stock clients: both modes, client certificates, the
// wrong CA, the plaintext refusal, user_map (nats_gate_fixture.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e/nats/nats_gate_fixture.h"

namespace tlsgate::e2e::nats {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class NatsGateTest : public NatsGateFixture {};

TEST_F(NatsGateTest, InfoUpgradePubSubAndRequestReplyVerified) {
  start_gate();
  auto r = client("pubsub", verified() + " -n 500");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("OK pubsub 500 messages, 20 requests"));
  EXPECT_TRUE(gate_->wait_for_log("NATS client: INFO first")) << log();
}

TEST_F(NatsGateTest, TlsFirstPubSubAndRequestReplyVerified) {
  start_gate();
  auto r = client("tlsfirst", verified() + " -n 500");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("OK tlsfirst 500 messages, 20 requests"));
  // INFO came inside TLS, saying so, with the backend's own fields kept.
  EXPECT_THAT(r.out, HasSubstr("\"tls_required\":true"));
  EXPECT_THAT(r.out, HasSubstr("\"version\":\"2.9"));
  EXPECT_TRUE(gate_->wait_for_log("NATS client: TLS first")) << log();
}

TEST_F(NatsGateTest, ClientCertificateRequiredInBothModes) {
  conf_["ssl.policy.nc.client_auth"] = "REQUIRE";
  make_client("app1");
  start_gate();
  auto with = client("pubsub", verified("app1") + " -n 50");
  EXPECT_EQ(with.code, 0) << with.out;
  auto first = client("tlsfirst", verified("app1") + " -n 50");
  EXPECT_EQ(first.code, 0) << first.out;
  EXPECT_THAT(first.out, HasSubstr("\"tls_verify\":true"));
  auto without = client("pubsub", verified() + " -n 1");
  EXPECT_NE(without.code, 0) << without.out;
  EXPECT_THAT(without.out, HasSubstr("FAIL"));
  auto without_first = client("tlsfirst", verified() + " -n 1");
  EXPECT_NE(without_first.code, 0) << without_first.out;
  EXPECT_TRUE(gate_->wait_for_log("[reason: no_certificate]")) << log();
}

TEST_F(NatsGateTest, WrongCaFailsInBothModes) {
  start_gate();
  auto other = test::make_test_ca("another CA");
  test::write_cert(dir_ / "other.crt", other.ca.cert.get());
  for (const char* mode : {"pubsub", "tlsfirst"}) {
    auto r = client(mode, "-ca " + test::q(dir_ / "other.crt") + " -n 1");
    EXPECT_NE(r.code, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr("certificate signed by unknown authority")) << mode;
  }
}

TEST_F(NatsGateTest, PlaintextConnectUnderRequiredGetsTheNatsError) {
  start_gate();
  auto r = client("plain", "-timeout 10s");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("\"tls_required\":true"));
  EXPECT_THAT(r.out, HasSubstr("LINE -ERR 'Secure Connection - TLS Required'\r\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("PONG")));
  EXPECT_TRUE(gate_->wait_for_log("[reason: plaintext_refused]")) << log();
}

TEST_F(NatsGateTest, PlaintextUnderOptionalIsRelayed) {
  conf_["connector.nc.tls_level"] = "OPTIONAL";
  start_gate();
  auto r = client("plain", "-timeout 2s");
  EXPECT_THAT(r.out, HasSubstr("\"tls_available\":true"));
  EXPECT_THAT(r.out, HasSubstr("LINE PONG"));
  auto tls = client("pubsub", verified() + " -n 20");
  EXPECT_EQ(tls.code, 0) << tls.out;
}

TEST_F(NatsGateTest, UserMapAllowsAndRefusesTheConnectUser) {
  // The backend knows both users; the gate lets app1's certificate log in as alice only.
  test::write_text(dir_ / "auth.conf",
                   "authorization { users = [ {user: alice, password: pa}, "
                   "{user: bob, password: pb} ] }\n");
  nats_.reset();
  nats_ = std::make_unique<NatsServer>(
      dir_ / "nats-auth.log", std::vector<std::string>{"-c", (dir_ / "auth.conf").string()});
  conf_["connector.nc.upstream_address"] = "127.0.0.1:" + std::to_string(nats_->port());
  test::write_text(dir_ / "users.map", "# identity (CN) -> NATS user\napp1 alice\n");
  conf_["ssl.policy.nc.client_auth"] = "REQUIRE";
  conf_["ssl.policy.nc.identity_from"] = "cn";
  conf_["connector.nc.user_map"] = "users.map";
  make_client("app1");
  start_gate();
  for (const char* mode : {"pubsub", "tlsfirst"}) {
    auto ok = client(mode, verified("app1") + " -user alice -pass pa -n 20");
    EXPECT_EQ(ok.code, 0) << mode << ": " << ok.out;
    auto refused = client(mode, verified("app1") + " -user bob -pass pb -n 1");
    EXPECT_NE(refused.code, 0) << mode << ": " << refused.out;
    EXPECT_THAT(refused.out,
                HasSubstr(std::string(mode) == "pubsub" ? "nats: Authorization Violation"
                                                        : "-ERR 'Authorization Violation'"));
  }
  EXPECT_TRUE(gate_->wait_for_log("[reason: user_not_mapped]")) << log();
  // The backend never saw bob: it would have let him in.
  EXPECT_THAT(nats_->log(), Not(HasSubstr("bob")));
}

}  // namespace
}  // namespace tlsgate::e2e::nats
