// `tlsgate serve`, connector.<name>.tls_level: REQUIRED refuses plaintext
// silently; OPTIONAL takes plaintext and TLS on one port.
#include "gate_fixture.h"

namespace tlsgate::e2e::gate {
namespace {

class GateTlsLevel : public GateFixture {};

TEST_F(GateTlsLevel, RequiredClosesAPlaintextClientWithoutAReply) {
  start_gate();  // tls_level defaults to REQUIRED
  PlainClient plain(gate_port_);
  ASSERT_TRUE(plain.connected());
  ASSERT_TRUE(plain.write_all("PING\r\n"));
  auto r = plain.read(1, Millis(5000));
  EXPECT_EQ(r.data, "") << "the gate answered a plaintext client";
  EXPECT_EQ(r.end, End::kClosed) << to_string(r.end);
  EXPECT_TRUE(gate_->wait_for_log(
      "client spoke plaintext to a TLS-only port (connector.echo.tls_level=REQUIRED)"))
      << log();
  EXPECT_EQ(echo_.accepted(), 0);

  // TLS still works on the port.
  TlsClient c;
  ASSERT_EQ(c.connect(gate_port_, client_options()), "");
  EXPECT_TRUE(c.echoes("tls after plaintext\n"));
}

TEST_F(GateTlsLevel, RequiredRefusesAnHttpRequestToo) {
  start_gate();
  PlainClient plain(gate_port_);
  ASSERT_TRUE(plain.connected());
  ASSERT_TRUE(plain.write_all("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  auto r = plain.read(1, Millis(5000));
  EXPECT_EQ(r.data, "");
  EXPECT_EQ(r.end, End::kClosed) << to_string(r.end);
  EXPECT_TRUE(gate_->wait_for_log("spoke plaintext")) << log();
}

TEST_F(GateTlsLevel, OptionalPassesPlaintextThroughAndTakesTlsOnTheSamePort) {
  conf_.set("connector.echo.tls_level", "OPTIONAL");
  start_gate();

  PlainClient plain(gate_port_);
  ASSERT_TRUE(plain.connected());
  ASSERT_TRUE(plain.write_all("plain hello\n"));
  EXPECT_EQ(plain.read(12).data, "plain hello\n");
  // Half-close in plaintext: the remainder still comes back, then FIN.
  ASSERT_TRUE(plain.write_all("last plain words"));
  plain.shutdown_write();
  auto rest = plain.read(SIZE_MAX, Millis(5000));
  EXPECT_EQ(rest.data, "last plain words");
  EXPECT_EQ(rest.end, End::kClosed) << to_string(rest.end);

  TlsClient tls;
  ASSERT_EQ(tls.connect(gate_port_, client_options()), "");
  EXPECT_TRUE(tls.echoes("tls hello\n"));

  // openssl s_client on the same port.
  auto r = s_client(gate_port_, s_client_args());
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("Verify return code: 0 (ok)"), std::string::npos) << r.out;

  EXPECT_EQ(echo_.accepted(), 3);
  EXPECT_EQ(log().find("spoke plaintext"), std::string::npos) << log();
}

TEST_F(GateTlsLevel, DisabledRelaysPlaintextWithoutAnyPolicy) {
  conf_.set("connector.echo.tls_level", "DISABLED")
      .erase("connector.echo.ssl_policy")
      .erase("ssl.policy.gate.enabled")
      .erase("ssl.policy.gate.base_directory")
      .erase("ssl.policy.gate.client_auth");
  start_gate();
  PlainClient plain(gate_port_);
  ASSERT_TRUE(plain.connected());
  ASSERT_TRUE(plain.write_all("\x16 not really a TLS record\n"));
  EXPECT_EQ(plain.read(26).data, "\x16 not really a TLS record\n");
}

}  // namespace
}  // namespace tlsgate::e2e::gate
