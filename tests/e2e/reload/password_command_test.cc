// private_key_password=$(command) in a real `tlsgate serve`: the command runs
// only with --expand-commands (refused otherwise, naming the key), its output
// never reaches the log, and it runs again when the key is replaced.
#include <gtest/gtest.h>

#include "pki/certificate_info.h"
#include "pki/encode.h"
#include "support/echo_server.h"
#include "support/gate_process.h"
#include "support/loopback.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "util/clock.h"

namespace tlsgate::test {
namespace {

constexpr const char* kPassword = "horse-battery-staple-1729";

class PasswordCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = make_test_ca("Password CA");
    policy_ = dir_ / "certificates" / "bolt";
    std::filesystem::create_directories(policy_ / "trusted");
    std::filesystem::create_directories(policy_ / "revoked");
    write_cert(dir_ / "ca.crt", ca_.ca.cert.get());
    write_text(dir_ / "password.txt", std::string(kPassword) + "\n", 0600);
    serial_ = install_encrypted_certificate();
    port_ = free_loopback_port();
    conf_ =
        "ssl.policy.bolt.enabled=true\nssl.policy.bolt.client_auth=NONE\n"
        "ssl.policy.bolt.private_key_password=$(cat " +
        (dir_ / "password.txt").string() +
        ")\n"
        "server.reload_settle=0.1\nserver.log_level=debug\n"
        "connector.bolt.listen_address=127.0.0.1:" +
        std::to_string(port_) +
        "\nconnector.bolt.upstream_address=127.0.0.1:" + std::to_string(echo_.port()) + "\n";
  }

  // A new certificate, its key encrypted under kPassword; returns the serial.
  std::string install_encrypted_certificate() {
    auto leaf = make_leaf(ca_, {"localhost", "127.0.0.1"});
    auto written = pki::write_private_key(policy_ / ".private.key.new", leaf.key.get(), 0600,
                                          util::Secret(kPassword));
    EXPECT_TRUE(written) << written.error().message();
    write_cert(policy_ / ".public.crt.new", leaf.cert.get());
    std::filesystem::rename(policy_ / ".private.key.new", policy_ / "private.key");
    std::filesystem::rename(policy_ / ".public.crt.new", policy_ / "public.crt");
    return pki::describe(leaf.cert.get(), util::SystemClock::instance()).serial_hex;
  }

  // The serial of the certificate a verified handshake sees ("" if none).
  std::string served_serial() {
    int rc = -1;
    auto out = run_command("openssl s_client -connect 127.0.0.1:" + std::to_string(port_) +
                               " -CAfile " + shell_quote((dir_ / "ca.crt").string()) +
                               " -verify_return_error </dev/null 2>/dev/null"
                               " | openssl x509 -noout -serial 2>&1",
                           &rc);
    auto eq = out.find("serial=");
    if (rc != 0 || eq == std::string::npos) return "";
    auto serial = out.substr(eq + 7);
    while (!serial.empty() && serial.back() == '\n') serial.pop_back();
    return serial;
  }

  TempDir dir_;
  TestCa ca_;
  EchoServer echo_;
  std::filesystem::path policy_;
  std::string serial_;
  std::string conf_;
  int port_ = 0;
};

// Colons and case differ between openssl's and our serial spelling.
std::string plain_hex(std::string s) {
  std::string out;
  for (char c : s) {
    if (c != ':') out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

TEST_F(PasswordCommand, RunsWithExpandCommandsAndAgainOnReload) {
  GateProcess gate(dir_.path(), conf_, "tlsgate", {"--expand-commands"});
  ASSERT_EQ(gate.wait_listening(port_), "");
  EXPECT_EQ(plain_hex(served_serial()), plain_hex(serial_)) << gate.log();

  auto next = install_encrypted_certificate();
  ASSERT_TRUE(gate.wait_for_log("reloaded after a file change")) << gate.log();
  bool seen = false;
  for (int i = 0; i < 50 && !seen; ++i) seen = plain_hex(served_serial()) == plain_hex(next);
  EXPECT_TRUE(seen) << gate.log();
  EXPECT_EQ(gate.log().find(kPassword), std::string::npos) << "the password reached the log";
}

TEST_F(PasswordCommand, RefusedWithoutExpandCommands) {
  GateProcess gate(dir_.path(), conf_);
  auto status = gate.wait_exit(std::chrono::milliseconds(10000));
  ASSERT_TRUE(status.has_value()) << "the gate started without --expand-commands\n" << gate.log();
  EXPECT_NE(*status, 0);
  EXPECT_NE(gate.log().find("ssl.policy.bolt.private_key_password: is a $(command), which runs "
                            "only when tlsgate is started with --expand-commands"),
            std::string::npos)
      << gate.log();
  EXPECT_EQ(gate.log().find(kPassword), std::string::npos);
}

}  // namespace
}  // namespace tlsgate::test
