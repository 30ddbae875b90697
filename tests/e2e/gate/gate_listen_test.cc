// `tlsgate serve` start-up: a listen address another gate already serves is
// refused (no silent sharing through SO_REUSEPORT), and start-up errors are
// located (FILE:LINE: KEY) with a fix that fits the cause.
#include <unistd.h>

#include <sstream>

#include "gate_fixture.h"
#include "pki/certificate_info.h"
#include "util/clock.h"

namespace tlsgate::e2e::gate {
namespace {

// "FILE:LINE: KEY" for KEY in a config written by test::GateConfig.
std::string located_key(const fs::path& file, const std::string& text, const std::string& key) {
  std::istringstream lines(text);
  int n = 0;
  for (std::string line; std::getline(lines, line);) {
    ++n;
    if (line.starts_with(key + "=")) return file.string() + ":" + std::to_string(n) + ": " + key;
  }
  return "(" + key + " is not in the config)";
}

class GateListen : public GateFixture {
 protected:
  // Starts a gate that is expected to refuse to start; its exit status.
  std::optional<int> start_refused(const std::string& name = "tlsgate") {
    gate_ = std::make_unique<test::GateProcess>(dir_, conf_.text(), name);
    return gate_->wait_exit(Millis(10000));
  }
};

// Review s22 §1: every worker's listener sets SO_REUSEPORT, and a second gate
// of the same user used to join the port and take half the clients, here
// with client_auth=NONE on a port the first serves as mutual TLS.
TEST_F(GateListen, SecondGateOnTheSameListenAddressExitsTwoAndTheFirstKeepsServing) {
  auto alice = client_cert("alice", ca_);
  conf_.set("ssl.policy.gate.client_auth", "REQUIRE");
  start_gate();

  test::GateConfig weaker = conf_;
  weaker.set("ssl.policy.gate.client_auth", "NONE");
  test::GateProcess second(dir_, weaker.text(), "second");
  auto status = second.wait_exit(Millis(10000));
  ASSERT_TRUE(status.has_value()) << "the second gate runs on the first one's port\n"
                                  << second.log();
  EXPECT_EQ(*status, 2) << second.log();
  const std::string addr = "127.0.0.1:" + std::to_string(gate_port_);
  EXPECT_NE(second.log().find(
                located_key(second.config_file(), weaker.text(), "connector.echo.listen_address") +
                ": cannot listen on " + addr +
                ": Address already in use; stop what uses it (`ss -ltnp 'sport = :" +
                std::to_string(gate_port_) + "'`"),
            std::string::npos)
      << second.log();

  // Every client still meets the first gate: none gets in without a certificate.
  for (int i = 0; i < 8; ++i) {
    EXPECT_TRUE(refused(gate_port_, client_options())) << "attempt " << i;
    TlsClient c;
    ASSERT_EQ(c.connect(gate_port_, client_options(alice)), "") << "attempt " << i;
    EXPECT_TRUE(c.echoes("still the first gate\n"));
  }
  EXPECT_TRUE(gate_->running());
}

// A wildcard listener of another gate holds every address of the port.
TEST_F(GateListen, SpecificAddressUnderAnotherGatesWildcardIsRefused) {
  conf_.set("connector.echo.listen_address", "0.0.0.0:" + std::to_string(gate_port_));
  start_gate();
  test::GateConfig narrow = conf_;
  narrow.set("connector.echo.listen_address", "127.0.0.1:" + std::to_string(gate_port_));
  test::GateProcess second(dir_, narrow.text(), "second");
  auto status = second.wait_exit(Millis(10000));
  ASSERT_TRUE(status.has_value()) << second.log();
  EXPECT_EQ(*status, 2) << second.log();
  EXPECT_NE(second.log().find("Address already in use"), std::string::npos) << second.log();
}

// The gate's own restart is not blocked by the connections of its previous
// run (TIME_WAIT): the probe sets SO_REUSEADDR as the listeners do.
TEST_F(GateListen, RestartRightAfterServingAClientBindsAgain) {
  start_gate();
  {
    TlsClient c;
    ASSERT_EQ(c.connect(gate_port_, client_options()), "");
    EXPECT_TRUE(c.echoes("one\n"));
  }
  ASSERT_EQ(gate_->terminate(Millis(10000)), 0) << log();
  start_gate();
  TlsClient c;
  ASSERT_EQ(c.connect(gate_port_, client_options()), "");
  EXPECT_TRUE(c.echoes("two\n"));
}

// Review s22 §9: the fix depends on why the bind failed.
TEST_F(GateListen, AddressThisHostDoesNotHaveIsNamedWithTheFix) {
  conf_.set("connector.echo.listen_address", "192.0.2.1:" + std::to_string(gate_port_));
  auto status = start_refused();
  ASSERT_TRUE(status.has_value()) << log();
  EXPECT_EQ(*status, 2) << log();
  EXPECT_NE(
      log().find(located_key(gate_->config_file(), conf_.text(), "connector.echo.listen_address") +
                 ": cannot listen on 192.0.2.1:" + std::to_string(gate_port_) +
                 ": Cannot assign requested address; this host has no address 192.0.2.1; "
                 "use one of its addresses"),
      std::string::npos)
      << log();
  EXPECT_EQ(log().find("stop what uses it"), std::string::npos) << log();
}

// Run as root (the test machines), the gate is started as user nobody with
// setpriv, after making its files readable to that user.
TEST_F(GateListen, PrivilegedPortAsAnUnprivilegedUserNamesTheCapability) {
  conf_.set("connector.echo.listen_address", "127.0.0.1:1");
  std::string as_user;
  if (::geteuid() == 0) {
    if (test::run_shell("command -v setpriv && id nobody && getent group nogroup").code != 0) {
      GTEST_SKIP() << "running as root without setpriv or user nobody";
    }
    fs::permissions(dir_, fs::perms::others_read | fs::perms::others_exec, fs::perm_options::add);
    ASSERT_EQ(test::run_shell("chmod -R a+rX " + test::q(dir_)).code, 0);
    as_user = "setpriv --reuid=nobody --regid=nogroup --clear-groups ";
  }
  const fs::path file = dir_ / "tlsgate.conf";
  test::write_text(file, conf_.text(), 0644);
  auto r = test::run_shell("timeout 15 " + as_user + test::q(test::GateProcess::binary()) +
                           " serve -c " + test::q(file));
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(located_key(file, conf_.text(), "connector.echo.listen_address") +
                       ": cannot listen on 127.0.0.1:1: Permission denied; ports below 1024 "
                       "need CAP_NET_BIND_SERVICE (the packaged systemd unit grants it) or root"),
            std::string::npos)
      << r.err;
}

// serve words a policy file problem as check does: FILE:LINE: KEY: problem; fix.
TEST_F(GateListen, MissingPrivateKeyIsReportedAsCheckReportsIt) {
  conf_.set("ssl.policy.gate.private_key", "missing.key");
  auto status = start_refused();
  ASSERT_TRUE(status.has_value()) << log();
  EXPECT_EQ(*status, 2) << log();
  auto check = test::run_shell(test::q(test::GateProcess::binary()) + " check -c " +
                               test::q(gate_->config_file()));
  const std::string key =
      located_key(gate_->config_file(), conf_.text(), "ssl.policy.gate.private_key");
  auto at = check.out.find(key);
  ASSERT_NE(at, std::string::npos) << check.out << check.err;
  std::string check_line = check.out.substr(at, check.out.find('\n', at) - at);
  EXPECT_NE(check_line.find("no such file; put the private key there"), std::string::npos)
      << check_line;
  EXPECT_NE(log().find("tlsgate: error: " + check_line + "\n"), std::string::npos)
      << "check: " << check_line << "\nserve: " << log();
}

// Review s22 §10: a served certificate every client refuses is said at start.
class GateServedCertificate : public GateFixture {
 protected:
  // Replaces the gate's certificate with one valid in `validity`; its description.
  pki::CertificateInfo serve_certificate_valid(test::Validity validity) {
    gate_cert_ = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, false, validity);
    test::write_cert(policy_dir_ / "public.crt", gate_cert_.cert.get());
    test::write_key(policy_dir_ / "private.key", gate_cert_.key.get());
    return pki::describe(gate_cert_.cert.get(), util::SystemClock::instance());
  }
  std::string served_as(const pki::CertificateInfo& info) const {
    return "ssl.policy.gate serves " + info.subject + " (serial " + info.serial_hex + ") in " +
           (policy_dir_ / "public.crt").string() + " which ";
  }
};

TEST_F(GateServedCertificate, ExpiredCertificateIsAWarningAtStart) {
  auto now = std::chrono::system_clock::now();
  auto info = serve_certificate_valid(
      {now - std::chrono::hours(24 * 30), now - std::chrono::hours(24 * 2)});
  start_gate();
  EXPECT_TRUE(gate_->wait_for_log(
      "warning " + served_as(info) + "expired on " + pki::format_time(info.not_after) +
      "; every client will refuse it; install a renewed certificate (tlsgate cert install "
      "--scope gate --cert CERT --key KEY)"))
      << log();
}

TEST_F(GateServedCertificate, NotYetValidCertificateIsAWarningAtStart) {
  auto now = std::chrono::system_clock::now();
  auto info = serve_certificate_valid({now + std::chrono::hours(24), now + std::chrono::hours(48)});
  start_gate();
  EXPECT_TRUE(gate_->wait_for_log(
      "warning " + served_as(info) + "is not valid before " + pki::format_time(info.not_before) +
      "; every client will refuse it until then; check this machine's clock"))
      << log();
}

TEST_F(GateServedCertificate, CertificateEndingWithinThirtyDaysIsAWarningAtStart) {
  auto now = std::chrono::system_clock::now();
  auto info =
      serve_certificate_valid({now - std::chrono::hours(1), now + std::chrono::hours(24 * 10 + 1)});
  start_gate();
  EXPECT_TRUE(gate_->wait_for_log("warning " + served_as(info) + "expires in 10 day(s), on " +
                                  pki::format_time(info.not_after) +
                                  "; install a renewed certificate before then"))
      << log();
}

TEST_F(GateServedCertificate, CurrentCertificateIsNotWarnedAbout) {
  start_gate();
  EXPECT_EQ(log().find("ssl.policy.gate serves"), std::string::npos) << log();
}

}  // namespace
}  // namespace tlsgate::e2e::gate
