// `tlsgate serve` with a stale CRL in revoked/ (past its nextUpdate): under
// stale_crl=WARN clients still get in, the log says so, and what the CRL
// lists stays refused; under REJECT clients of that CA are refused with the
// CRL file and its nextUpdate, until a fresh CRL is dropped in (no restart).
#include <chrono>
#include <sstream>

#include "gate_fixture.h"
#include "pki/certificate_info.h"

namespace tlsgate::e2e::gate {
namespace {

using namespace std::chrono_literals;

class GateStaleCrl : public GateFixture {
 protected:
  void SetUp() override {
    GateFixture::SetUp();
    if (HasFatalFailure()) return;
    now_ = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    conf_.set("ssl.policy.gate.client_auth", "REQUIRE");
    fs::create_directories(policy_dir_ / "revoked");
  }

  fs::path crl_file() const { return policy_dir_ / "revoked" / "ca.crl.pem"; }

  // ca_'s CRL, past its nextUpdate by a day.
  void write_stale_crl(const std::vector<const X509*>& revoked = {}) {
    test::write_crl(crl_file(), ca_, revoked, now_ - 48h, now_ - 24h);
  }

  std::string stale_head() const {
    return "ssl.policy.gate.revoked_dir: CRL " + crl_file().string() +
           " from CN=gate test CA,O=tlsgate is stale: its nextUpdate " +
           pki::format_time(now_ - 24h) + " has passed; ssl.policy.gate.stale_crl=";
  }

  // `openssl s_client` with a client certificate that sends a line and
  // waits for the echo; its output.
  std::string s_client_echo(const ClientCert& c, const std::string& line) {
    auto sc = start_s_client({"-cert", c.cert.string(), "-key", c.key.string()});
    sc->wait_for_output("Verify return code", Millis(10000));
    sc->write_stdin(line + "\n");
    sc->wait_for_output(line, Millis(10000));
    sc->close_stdin();
    sc->wait_exit(Millis(10000));
    return sc->output();
  }

  util::SystemTime now_;
};

TEST_F(GateStaleCrl, UnderWarnClientsGetInAndTheLogNamesTheCrl) {
  auto alice = client_cert("alice", ca_);
  write_stale_crl();
  start_gate();
  EXPECT_TRUE(gate_->wait_for_log(
      stale_head() +
      "WARN: it is still used (the certificates it lists stay refused) and peers "
      "with certificates from CN=gate test CA,O=tlsgate are let in; put a fresh "
      "CRL from CN=gate test CA,O=tlsgate into " +
      (policy_dir_ / "revoked").string() + "; tlsgate reloads it"))
      << log();

  auto out = s_client_echo(alice, "stale but in");
  EXPECT_NE(out.find("Verify return code: 0 (ok)"), std::string::npos) << out;
  EXPECT_NE(out.find("stale but in"), std::string::npos) << out;  // the echo
  TlsClient c;
  ASSERT_EQ(c.connect(gate_port_, client_options(alice)), "");
  EXPECT_TRUE(c.echoes("in process\n"));
  EXPECT_EQ(echo_.accepted(), 2);
}

TEST_F(GateStaleCrl, UnderWarnACertificateTheStaleCrlListsIsStillRefused) {
  auto alice = client_cert("alice", ca_);
  auto carol = client_cert("carol", ca_);
  write_stale_crl({carol.issued.cert.get()});
  start_gate();
  EXPECT_TRUE(refused(gate_port_, client_options(carol)));
  EXPECT_TRUE(gate_->wait_for_log("client certificate CN=carol,O=tlsgate")) << log();
  EXPECT_TRUE(gate_->wait_for_log("certificate revoked")) << log();

  TlsClient a;
  ASSERT_EQ(a.connect(gate_port_, client_options(alice)), "");
  EXPECT_TRUE(a.echoes("alice is not revoked\n"));
  EXPECT_EQ(echo_.accepted(), 1);
}

TEST_F(GateStaleCrl, UnderRejectClientsAreRefusedUntilAFreshCrlArrives) {
  auto alice = client_cert("alice", ca_);
  conf_.set("ssl.policy.gate.stale_crl", "REJECT");
  write_stale_crl();
  start_gate();
  EXPECT_TRUE(gate_->wait_for_log(stale_head() +
                                  "REJECT: peers with certificates from CN=gate test "
                                  "CA,O=tlsgate are refused until then"))
      << log();

  EXPECT_TRUE(refused(gate_port_, client_options(alice)));
  EXPECT_TRUE(
      gate_->wait_for_log("client certificate CN=alice,O=tlsgate from 127.0.0.1:", Millis(5000)))
      << log();
  EXPECT_TRUE(gate_->wait_for_log(
      " refused: the CRL " + crl_file().string() +
      " from CN=gate test CA,O=tlsgate is stale (its nextUpdate " + pki::format_time(now_ - 24h) +
      " has passed) and ssl.policy.gate.stale_crl is REJECT; put a fresh CRL from CN=gate test "
      "CA,O=tlsgate into " +
      (policy_dir_ / "revoked").string() + "; tlsgate reloads it"))
      << log();
  EXPECT_EQ(echo_.accepted(), 0);

  // A fresh CRL replaces the stale one: picked up by the watcher, no restart.
  test::write_crl(crl_file(), ca_, {}, now_ - 1h, now_ + 24h);
  ASSERT_TRUE(gate_->wait_for_log("ssl.policy.gate (incoming): reloaded after a file change",
                                  Millis(10000)))
      << log();
  TlsClient c;
  ASSERT_EQ(c.connect(gate_port_, client_options(alice)), "");
  EXPECT_TRUE(c.echoes("fresh CRL, in again\n"));
  EXPECT_EQ(echo_.accepted(), 1);
  EXPECT_TRUE(gate_->running());
}

}  // namespace
}  // namespace tlsgate::e2e::gate
