// Review s22 sections 6, 11 and 14 (admin): an admin certificate that does
// not name admin.listen_address (upload and check), uploads over symbolic
// links, GET /v1/connections of an unknown connector, HEAD, and the metrics
// listener's name in its log lines.
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/admin/admin_fixture.h"
#include "pki/certificate_info.h"
#include "pki/encode.h"
#include "pki/loader.h"
#include "support/gate_process.h"
#include "support/loopback.h"
#include "support/process.h"
#include "support/test_pki.h"
#include "util/clock.h"

namespace tlsgate::e2e::admin {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::q;

class AdminGuards : public AdminGate {
 protected:
  static std::string upload_json(const pki::Issued& leaf) {
    return json{{"certificate", *pki::certificate_pem(leaf.cert.get())},
                {"private_key", *pki::private_key_pem(leaf.key.get())}}
        .dump();
  }
  // curl with `args` (its own URL included); stdout with the headers first.
  static test::CommandResult curl(const std::string& args) {
    return test::run_shell("curl -sS --max-time 10 " + args, {}, test::Millis(20000));
  }
};

TEST_F(AdminGuards, AdminCertificateUploadMustNameTheAdminHost) {
  start_gate();
  const auto admin_dir = dir_ / "certs" / "admin";
  const auto crt_before = test::read_text(admin_dir / "public.crt");
  auto elsewhere = test::make_leaf(ca_, {"db.example.com"});
  auto r = call("ops", "PUT", "/v1/policies/admin/certificate", upload_json(elsewhere));
  ASSERT_EQ(r.status, 400) << r.body << log();
  auto j = json::parse(r.body);
  const auto error = j["error"].get<std::string>();
  EXPECT_NE(error.find("does not cover \"127.0.0.1\", the host of admin.listen_address"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(test::read_text(admin_dir / "public.crt"), crt_before);
  EXPECT_FALSE(fs::exists(admin_dir / "public.crt.bak"));
  // The API still answers (hostname verification by curl passes).
  EXPECT_EQ(call("ops", "GET", "/healthz").status, 200) << log();
  // A certificate that names it is taken.
  auto good = test::make_leaf(ca_, {"127.0.0.1", "localhost"});
  auto ok = call("ops", "PUT", "/v1/policies/admin/certificate", upload_json(good));
  EXPECT_EQ(ok.status, 200) << ok.body << log();
  EXPECT_EQ(call("ops", "GET", "/healthz").status, 200) << log();
}

TEST_F(AdminGuards, CheckReportsAnAdminCertificateWithoutTheAdminHost) {
  const auto admin_dir = dir_ / "certs" / "admin";
  auto elsewhere = test::make_leaf(ca_, {"db.example.com"});
  test::write_cert(admin_dir / "public.crt", elsewhere.cert.get());
  test::write_key(admin_dir / "private.key", elsewhere.key.get());
  test::write_text(dir_ / "check.conf", conf_.text());
  auto r = test::run_shell(q(test::GateProcess::binary()) + " check -c check.conf", dir_);
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  const auto said = r.out + r.err;
  EXPECT_NE(said.find("ssl.policy.admin.public_certificate"), std::string::npos) << said;
  EXPECT_NE(said.find("does not name 127.0.0.1, the host of admin.listen_address"),
            std::string::npos)
      << said;
}

TEST_F(AdminGuards, UploadOverSymbolicLinksIsRefusedAndWritesNothing) {
  // The policy's files are links into a renewal tool's folder, as with certbot.
  const auto live = dir_ / "live";
  fs::create_directories(live);
  fs::copy_file(policy_dir_ / "public.crt", live / "cert.pem");
  fs::copy_file(policy_dir_ / "private.key", live / "key.pem");
  fs::remove(policy_dir_ / "public.crt");
  fs::remove(policy_dir_ / "private.key");
  fs::create_symlink("../../live/cert.pem", policy_dir_ / "public.crt");
  fs::create_symlink("../../live/key.pem", policy_dir_ / "private.key");
  start_gate();
  const auto old_serial = served_serial();
  const auto live_before = test::read_text(live / "cert.pem");
  auto fresh = test::make_leaf(ca_, {"localhost", "127.0.0.1"});
  auto r = call("ops", "PUT", "/v1/policies/gate/certificate", upload_json(fresh));
  ASSERT_EQ(r.status, 409) << r.body << log();
  const auto error = json::parse(r.body)["error"].get<std::string>();
  EXPECT_NE(error.find("public.crt is a symbolic link to ../../live/cert.pem"), std::string::npos)
      << error;
  EXPECT_NE(error.find("update the target (where your renewal tool writes) or replace the link "
                       "by a file first"),
            std::string::npos)
      << error;
  EXPECT_TRUE(fs::is_symlink(policy_dir_ / "public.crt"));
  EXPECT_TRUE(fs::is_symlink(policy_dir_ / "private.key"));
  EXPECT_FALSE(fs::exists(policy_dir_ / "public.crt.bak"));
  EXPECT_FALSE(fs::exists(policy_dir_ / "private.key.bak"));
  EXPECT_EQ(test::read_text(live / "cert.pem"), live_before);
  EXPECT_EQ(served_serial(), old_serial);
}

TEST_F(AdminGuards, ConnectionsOfAnUnknownConnectorAre404) {
  start_gate();
  auto r = call("viewer", "GET", "/v1/connections?connector=nosuch");
  ASSERT_EQ(r.status, 404) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["error"], "no connector \"nosuch\"");
  EXPECT_NE(j["fix"].get<std::string>().find("echo"), std::string::npos) << r.body;
  EXPECT_EQ(call("viewer", "GET", "/v1/connections?connector=echo").status, 200);
}

TEST_F(AdminGuards, HeadWorksWhereGetDoes) {
  start_gate();
  const std::string metrics_url = "http://127.0.0.1:" + std::to_string(metrics_port_);
  for (const char* path : {"/metrics", "/healthz"}) {
    auto head = curl("-I " + metrics_url + path);
    EXPECT_EQ(head.code, 0) << path << head.err;
    EXPECT_TRUE(head.out.starts_with("HTTP/1.1 200")) << path << ": " << head.out;
    // The GET's length, and no body after the headers.
    EXPECT_NE(head.out.find("Content-Length: "), std::string::npos) << head.out;
    EXPECT_EQ(head.out.find("Content-Length: 0\r"), std::string::npos) << head.out;
    EXPECT_TRUE(head.out.ends_with("\r\n\r\n")) << head.out;
  }
  const std::string tls = "--cacert " + q(ca_file_) + " --cert " + q(clients_ / "viewer.crt") +
                          " --key " + q(clients_ / "viewer.key") +
                          " https://127.0.0.1:" + std::to_string(admin_port_);
  for (const char* path : {"/v1/status", "/v1/certificates", "/v1/connections", "/metrics", "/"}) {
    auto head = curl("-I " + tls + path);
    EXPECT_TRUE(head.out.starts_with("HTTP/1.1 200")) << path << ": " << head.out << head.err;
  }
  // Several HEADs on one kept-alive connection: no body bytes in between.
  auto twice = curl("-I " + tls + "/healthz " + tls + "/v1/status");
  EXPECT_EQ(twice.code, 0) << twice.err;
  auto allow = curl("-i -X POST " + metrics_url + "/metrics");
  EXPECT_NE(allow.out.find("Allow: GET, HEAD"), std::string::npos) << allow.out;
}

TEST_F(AdminGuards, NonHttpOnTheMetricsListenerIsLoggedAsIt) {
  start_gate();
  int fd = test::connect_loopback(metrics_port_);
  ASSERT_GE(fd, 0);
  const std::string junk = "\x16\x03\x01 this is no HTTP\r\n\r\n";
  ASSERT_GT(::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL), 0);
  EXPECT_TRUE(gate_->wait_for_log("admin metrics listener (admin.metrics_address): client"))
      << log();
  ::close(fd);
  EXPECT_EQ(log().find("admin API: client 127.0.0.1"), std::string::npos) << log();
}

// Review s22 section 8: the admin listener's refused handshakes said
// "certificate verify failed" or "peer did not return a certificate" alone;
// they now say which certificate, which folder, and what to do, and are
// counted by reason in /metrics.
TEST_F(AdminGuards, RefusedAdminHandshakesSayWhyAndWhatToDo) {
  start_gate();
  EXPECT_EQ(call("mallory", "GET", "/healthz").status, 0);
  EXPECT_TRUE(gate_->wait_for_log("failed: client certificate CN=mallory"));
  EXPECT_TRUE(gate_->wait_for_log(
      "failed verification against ssl.policy.admin.trusted_dir: unable to get local issuer "
      "certificate: its issuer "))
      << log();
  EXPECT_EQ(call("", "GET", "/healthz").status, 0);
  EXPECT_TRUE(gate_->wait_for_log(
      "failed: the client sent no certificate, but ssl.policy.admin.client_auth is REQUIRE: an "
      "operator presents one (curl --cert FILE --key FILE) [reason: no_certificate]"))
      << log();
  // Counted by reason, apart from the connectors' clients.
  auto text = metrics();
  EXPECT_NE(text.find("tlsgate_admin_handshake_failures_total{reason=\"unknown_ca\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("tlsgate_admin_handshake_failures_total{reason=\"no_certificate\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("tlsgate_handshake_failures_total{connector=\"echo\",reason=\"unknown_ca\"} 0"),
      std::string::npos)
      << text;
}

// A resumed TLS session skips the handshake's verification: a ticket the
// operator saved before a CRL revoked its certificate kept full access
// (review s23, security finding 1). The chain is checked again on resumption.
TEST_F(AdminGuards, AResumedSessionOfARevokedCertificateIsRefused) {
  fs::create_directories(dir_ / "certs" / "admin" / "revoked");
  start_gate();
  auto s_client = [&](const std::string& request, const std::string& session) {
    return test::run_shell(
        "printf " + test::shell_quote(request) +
            " | timeout 15 openssl s_client -connect 127.0.0.1:" + std::to_string(admin_port_) +
            " -CAfile " + q(ca_file_) + " -cert " + q(clients_ / "ops.crt") + " -key " +
            q(clients_ / "ops.key") + " -ign_eof " + session + " 2>&1",
        {}, test::Millis(30000));
  };
  auto first = s_client("GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        "-sess_out " + q(dir_ / "ops.sess"));
  ASSERT_NE(first.out.find("HTTP/1.1 200"), std::string::npos) << first.out;

  auto ops = pki::load_certificates(clients_ / "ops.crt");
  ASSERT_TRUE(ops && !ops->empty());
  const auto now = util::SystemClock::instance().now();
  test::write_crl(dir_ / "certs" / "admin" / "revoked" / "ca.crl.pem", ca_, {ops->front().get()},
                  now - std::chrono::minutes(1), now + std::chrono::hours(24));
  ASSERT_TRUE(gate_->wait_for_log("ssl.policy.admin (incoming): reloaded")) << log();

  auto resumed = s_client(
      "POST /v1/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
      "-sess_in " + q(dir_ / "ops.sess"));
  EXPECT_NE(resumed.out.find("Reused, TLSv1.3"), std::string::npos) << resumed.out;
  EXPECT_EQ(resumed.out.find("HTTP/1.1 200"), std::string::npos) << resumed.out;
  EXPECT_TRUE(gate_->wait_for_log("refused: resumed TLS session: ")) << log();
  EXPECT_TRUE(gate_->wait_for_log("[reason: revoked]")) << log();
}

}  // namespace
}  // namespace tlsgate::e2e::admin
