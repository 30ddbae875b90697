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

// The backend knows alice and bob (tracing what it reads: -V); the gate lets
// app1's certificate log in as alice only.
class NatsUserMapTest : public NatsGateFixture {
 protected:
  void SetUp() override {
    NatsGateFixture::SetUp();
    test::write_text(dir_ / "auth.conf",
                     "authorization { users = [ {user: alice, password: pa}, "
                     "{user: bob, password: pb} ] }\n");
    nats_.reset();
    nats_ = std::make_unique<NatsServer>(
        dir_ / "nats-auth.log",
        std::vector<std::string>{"-c", (dir_ / "auth.conf").string(), "-V"});
    conf_["connector.nc.upstream_address"] = "127.0.0.1:" + std::to_string(nats_->port());
    test::write_text(dir_ / "users.map", "# identity (CN) -> NATS user\napp1 alice\n");
    conf_["ssl.policy.nc.client_auth"] = "REQUIRE";
    conf_["ssl.policy.nc.identity_from"] = "cn";
    conf_["connector.nc.user_map"] = "users.map";
    make_client("app1");
    start_gate();
  }

  // `raw` (TLS first) with each of SENDS written in turn.
  ClientRun raw(const std::vector<std::string>& sends) const {
    std::string args = verified("app1") + " -timeout 5s";
    for (const auto& s : sends) args += " -send " + test::q(s);
    return client("raw", args);
  }
};

// The client's side is followed after CONNECT: hundreds of messages and
// requests in both modes pass through it.
TEST_F(NatsUserMapTest, AllowsAndRefusesTheConnectUser) {
  for (const char* mode : {"pubsub", "tlsfirst"}) {
    auto ok = client(mode, verified("app1") + " -user alice -pass pa -n 300");
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

// nats-server reads "USER" as user and keeps the last of two: both would log
// app1 in as bob past a check of the first `user` (review defect 1).
TEST_F(NatsUserMapTest, RefusesAConnectTheServerWouldReadAsAnotherUser) {
  const std::pair<std::string, std::string> cases[] = {
      {R"(CONNECT {"user":"alice","USER":"bob","pass":"pb"}\r\nPING\r\n)",
       "spells its user member"},
      {R"(CONNECT {"user":"alice","user":"bob","pass":"pb"}\r\nPING\r\n)",
       "more than one user member"},
      {R"(CONNECT {"user":"alice","pass":"pa","auth_token":"t"}\r\nPING\r\n)",
       "carries auth_token"},
  };
  for (const auto& [connect, why] : cases) {
    auto r = raw({connect});
    EXPECT_THAT(r.out, HasSubstr("LINE -ERR 'Authorization Violation'")) << connect;
    EXPECT_THAT(r.out, Not(HasSubstr("PONG"))) << connect;
    EXPECT_TRUE(gate_->wait_for_log(why)) << why << "\n" << log();
  }
  EXPECT_TRUE(gate_->wait_for_log("[reason: user_not_mapped]")) << log();
  EXPECT_THAT(nats_->log(), Not(HasSubstr("bob")));
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// A second CONNECT, in a later write than the first, would log the
// connection in again as bob; a payload that reads like one is data.
TEST_F(NatsUserMapTest, RefusesASecondConnectButNotAPayloadThatLooksLikeOne) {
  auto r = raw({R"(CONNECT {"verbose":false,"user":"alice","pass":"pa"}\r\nPING\r\n)",
                R"(SUB alice.x 1\r\nPUB alice.x 36\r\nCONNECT {"user":"bob","pass":"pb"}\r\n)"
                R"(\r\nPING\r\n)",
                R"(CONNECT {"user":"bob","pass":"pb"}\r\nPUB bob.x 2\r\nhi\r\nPING\r\n)"});
  // The payload came back as a message; the second CONNECT ended it all.
  EXPECT_THAT(r.out,
              HasSubstr("LINE MSG alice.x 1 36\r\nLINE CONNECT {\"user\":\"bob\",\"pass\":\"pb\"}"))
      << r.out;
  EXPECT_EQ(count(r.out, "LINE PONG"), 2u) << r.out;
  EXPECT_TRUE(gate_->wait_for_log("the client sent a second CONNECT")) << log();
  EXPECT_TRUE(gate_->wait_for_log("[reason: user_not_mapped]")) << log();
  // The backend read the payload, never the CONNECT nor the PUB after it.
  EXPECT_TRUE(nats_->wait_for_log("PUB alice.x 36", std::chrono::seconds(5))) << nats_->log();
  EXPECT_THAT(nats_->log(), Not(HasSubstr("bob.x")));
  EXPECT_THAT(nats_->log(), Not(HasSubstr("[CONNECT {\"user\":\"bob\"")));
}

// Past a payload that is not where its PUB said it ends, the framing is
// unknown: the connection is closed rather than relayed blind.
TEST_F(NatsUserMapTest, ClosesAClientStreamItCannotFollow) {
  auto r = raw({R"(CONNECT {"verbose":false,"user":"alice","pass":"pa"}\r\nPING\r\n)",
                R"(PUB alice.x 2\r\nhiCONNECT {"user":"bob","pass":"pb"}\r\nPING\r\n)"});
  EXPECT_EQ(count(r.out, "LINE PONG"), 1u) << r.out;
  EXPECT_TRUE(gate_->wait_for_log("a message payload from the client is not followed by CRLF"))
      << log();
  EXPECT_THAT(nats_->log(), Not(HasSubstr("bob")));
}

}  // namespace
}  // namespace tlsgate::e2e::nats
