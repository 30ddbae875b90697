#include "admin/metrics.h"

#include <gtest/gtest.h>

#include "sample_status.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace tlsgate::admin {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(AdminMetrics, NamesLabelsAndValuesAsDocumented) {
  test::TempDir dir;
  auto g = test::make_sample_gate(dir.path());
  auto text = metrics_text(g.status);
  const auto& cert = *g.status.policies[0].context->certificate;
  auto not_after =
      std::chrono::duration_cast<std::chrono::seconds>(cert.not_after.time_since_epoch()).count();
  EXPECT_TRUE(has_line(text,
                       "tlsgate_certificate_not_after_seconds{policy=\"pg\",side=\"server\","
                       "serial=\"" +
                           cert.serial_hex + "\",subject=\"" + cert.subject + "\"} " +
                           std::to_string(not_after)))
      << text;
  EXPECT_TRUE(has_line(text, "# TYPE tlsgate_reloads_total counter")) << text;
  EXPECT_TRUE(has_line(text, "tlsgate_reloads_total{policy=\"pg\",result=\"ok\"} 3")) << text;
  EXPECT_TRUE(has_line(text, "tlsgate_reloads_total{policy=\"pg\",result=\"failed\"} 1")) << text;
  EXPECT_TRUE(
      has_line(text, "tlsgate_handshake_failures_total{connector=\"pg\",reason=\"unknown_ca\"} 3"))
      << text;
  EXPECT_TRUE(
      has_line(text, "tlsgate_handshake_failures_total{connector=\"pg\",reason=\"expired\"} 0"))
      << text;
  EXPECT_TRUE(has_line(
      text, "tlsgate_handshakes_total{connector=\"pg\",version=\"TLSv1.3\",resumed=\"true\"} 1"))
      << text;
  EXPECT_TRUE(has_line(text, "tlsgate_connections_active{connector=\"pg\"} 2")) << text;
  EXPECT_TRUE(has_line(text, "tlsgate_bytes_total{connector=\"pg\",direction=\"to_clients\"} 2000"))
      << text;
  EXPECT_TRUE(
      has_line(text, "tlsgate_connections_refused_total{connector=\"pg\",reason=\"tls_setup\"} 1"))
      << text;
  EXPECT_TRUE(has_line(
      text, "tlsgate_connections_closed_revalidation_total{connector=\"pg\",reason=\"expired\"} 1"))
      << text;
}

TEST(AdminMetrics, PromtoolAcceptsTheOutput) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_FAIL() << "promtool is missing: scripts/install-deps.sh test installs it (Debian "
                    "package prometheus)";
  }
  test::TempDir dir;
  auto g = test::make_sample_gate(dir.path());
  net::StapleState st;
  st.scope = "pg";
  st.status = "good";
  st.next_update = std::chrono::system_clock::now() + std::chrono::hours(24);
  g.status.staples.push_back(st);
  auto text = metrics_text(g.status);
  EXPECT_TRUE(has_line(text, "tlsgate_ocsp_staple_status{policy=\"pg\",status=\"good\"} 1"));
  EXPECT_TRUE(has_line(text, "tlsgate_ocsp_staple_status{policy=\"pg\",status=\"revoked\"} 0"));
  test::write_text(dir / "metrics.txt", text);
  auto r = test::run_shell("timeout 30 promtool check metrics < " + (dir / "metrics.txt").string());
  EXPECT_EQ(r.code, 0) << r.out << r.err << "\n" << text;
  // promtool prints lint findings (names, help) even when it exits 0.
  EXPECT_EQ(r.out + r.err, "") << text;
}

TEST(AdminMetrics, AcmePoliciesSayWhatIsFailingAndWhenTheNextTryIs) {
  test::TempDir dir;
  acme::PolicyStatus ok;
  ok.scope = "pg";
  ok.issued = 2;
  ok.next_attempt = util::SystemTime(std::chrono::seconds(1800000000));
  acme::PolicyStatus failing;
  failing.scope = "bolt";
  failing.failures = 3;
  failing.last_error = "ACME server https://ca.example/dir: order: rateLimited";
  std::vector<acme::PolicyStatus> policies{ok, failing};
  auto text = metrics_text(net::GateStatus{}, nullptr, &policies);
  EXPECT_TRUE(has_line(text, "tlsgate_acme_certificates_issued_total{policy=\"pg\"} 2")) << text;
  EXPECT_TRUE(has_line(text, "tlsgate_acme_failing{policy=\"pg\"} 0")) << text;
  EXPECT_TRUE(has_line(text, "tlsgate_acme_failing{policy=\"bolt\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "tlsgate_acme_failures_total{policy=\"bolt\"} 3")) << text;
  EXPECT_TRUE(
      has_line(text, "tlsgate_acme_next_attempt_timestamp_seconds{policy=\"pg\"} 1800000000"))
      << text;
  test::write_text(dir / "metrics.txt", text);
  auto r = test::run_shell("timeout 30 promtool check metrics < " + (dir / "metrics.txt").string());
  EXPECT_EQ(r.code, 0) << r.out << r.err << "\n" << text;
  EXPECT_EQ(r.out + r.err, "") << text;
}

TEST(AdminMetrics, EmptyGateIsStillValid) {
  auto text = metrics_text(net::GateStatus{});
  EXPECT_TRUE(has_line(text, "# TYPE tlsgate_connections_accepted_total counter")) << text;
}

}  // namespace
}  // namespace tlsgate::admin
