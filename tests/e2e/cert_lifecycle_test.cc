// The certificate life cycle with `tlsgate cert` alone: CA -> server and client
// certificates -> mTLS through `tlsgate serve` -> `cert revoke` + `cert crl
// --install-into` the policy's revoked/ -> the open connection is closed by
// re-validation and a new one is refused. `openssl verify -crl_check` agrees
// at each step.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "e2e_helpers.h"
#include "support/echo_server.h"
#include "support/gate_process.h"

namespace tlsgate::e2e {
namespace {

using test::Millis;
using ::testing::HasSubstr;

class CertLifecycle : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) return;
    tg_ok("cert ca --out ca --name 'Life CA'");
    tg_ok("cert issue --ca ca --out gate --server localhost 127.0.0.1");
    tg_ok("cert issue --ca ca --out alice --client alice");
    tg_ok("cert issue --ca ca --out bob --client bob");
    tg_ok("cert install --scope gate --cert gate/public.crt --key gate/private.key --ca ca/ca.crt");
    // The CA publishes its (empty) CRL from the start, as a cron job keeps it fresh.
    tg_ok("cert crl --ca ca --install-into certificates/gate/revoked");
  }

  // An interactive mTLS client of the gate as `who`, its stdin a pipe.
  std::unique_ptr<test::ChildProcess> connect(const std::string& who) const {
    std::vector<std::string> argv = {"openssl",
                                     "s_client",
                                     "-connect",
                                     "127.0.0.1:" + std::to_string(port_),
                                     "-servername",
                                     "localhost",
                                     "-verify_return_error",
                                     "-CAfile",
                                     path("ca/ca.crt").string(),
                                     "-cert",
                                     path(who + "/public.crt").string(),
                                     "-key",
                                     path(who + "/private.key").string(),
                                     "-nocommands"};
    return std::make_unique<test::ChildProcess>(
        argv, test::ChildProcess::Options{.output_file = path(who + ".s_client.out"),
                                          .stdin_pipe = true});
  }

  // Sends a line through c and waits for its echo.
  static bool echoes(test::ChildProcess& c, const std::string& line) {
    return c.write_stdin(line + "\n") && c.wait_for_output(line + "\n", Millis(10000));
  }

  // `openssl verify -crl_check` of WHO's certificate against the CA and its CRL.
  Proc openssl_verify(const std::string& who) const {
    return shell("openssl verify -crl_check -CAfile ca/ca.crt -CRLfile ca/ca.crl " + who +
                 "/public.crt 2>&1");
  }

  int port_ = test::free_loopback_port();
};

TEST_F(CertLifecycle, RevokedClientIsClosedAndRefused) {
  test::EchoServer echo;
  test::GateConfig conf;
  conf.set("server.shutdown_timeout", "1")
      .set("ssl.policy.gate.enabled", "true")
      .set("ssl.policy.gate.base_directory", path("certificates/gate").string())
      .set("ssl.policy.gate.client_auth", "REQUIRE")
      .set("connector.echo.listen_address", "127.0.0.1:" + std::to_string(port_))
      .set("connector.echo.upstream_address", "127.0.0.1:" + std::to_string(echo.port()))
      .set("connector.echo.ssl_policy", "gate");
  test::GateProcess gate(dir_, conf.text());
  ASSERT_EQ(gate.wait_serving(port_), "") << gate.report();

  EXPECT_EQ(openssl_verify("alice").out, "alice/public.crt: OK\n");
  auto alice = connect("alice");
  auto bob = connect("bob");
  ASSERT_TRUE(echoes(*alice, "alice before")) << alice->output() << gate.report();
  ASSERT_TRUE(echoes(*bob, "bob before")) << bob->output() << gate.report();

  tg_ok("cert revoke --ca ca alice/public.crt --reason keyCompromise");
  Proc installed = tg_ok("cert crl --ca ca --install-into certificates/gate/revoked");
  EXPECT_THAT(installed.out, HasSubstr("1 revoked certificate, CRL number 3,"));
  Proc verdict = openssl_verify("alice");
  EXPECT_NE(verdict.code, 0);
  EXPECT_THAT(verdict.out, HasSubstr("certificate revoked"));
  EXPECT_EQ(openssl_verify("bob").out, "bob/public.crt: OK\n");

  // The gate reloads revoked/ (settle window 200 ms) and closes alice's open connection.
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(alice->wait_exit(Millis(5000))) << "alice's connection is still open\n"
                                              << gate.report();
  std::cerr << "alice closed "
            << std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start).count()
            << " ms after the CRL was installed\n";
  EXPECT_TRUE(gate.wait_for_log("closed by re-validation")) << gate.report();
  EXPECT_TRUE(gate.wait_for_log("certificate revoked")) << gate.report();
  EXPECT_TRUE(echoes(*bob, "bob after")) << bob->output() << gate.report();

  // A new connection with alice's certificate is refused; bob's is served. (The refused
  // outputs go to the same file name, so the old one is moved away first.)
  fs::rename(path("alice.s_client.out"), path("alice.first.out"));
  auto alice_again = connect("alice");
  alice_again->write_stdin("alice again\n");
  EXPECT_TRUE(alice_again->wait_exit(Millis(10000))) << alice_again->output();
  EXPECT_THAT(alice_again->output(), HasSubstr("certificate revoked")) << alice_again->output();
  EXPECT_THAT(alice_again->output(), ::testing::Not(HasSubstr("alice again\n")));
  fs::rename(path("bob.s_client.out"), path("bob.first.out"));
  auto bob_again = connect("bob");
  EXPECT_TRUE(echoes(*bob_again, "bob again")) << bob_again->output() << gate.report();
}

}  // namespace
}  // namespace tlsgate::e2e
