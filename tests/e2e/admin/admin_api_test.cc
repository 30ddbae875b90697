// The admin API end to end (issue 14): who may do what, metrics that a
// Prometheus accepts and that move when they should, certificate uploads.
#include <poll.h>
#include <sys/stat.h>

#include <chrono>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/admin/admin_fixture.h"
#include "pki/certificate_info.h"
#include "pki/encode.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::e2e::admin {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::hours;
using Clock = std::chrono::steady_clock;

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

// Polls `cond` until it holds or 10 s passed (bounded count and time).
template <typename F>
bool eventually(F cond) {
  auto until = Clock::now() + std::chrono::seconds(10);
  for (int i = 0; i < 400 && Clock::now() < until; ++i) {
    if (cond()) return true;
    ::poll(nullptr, 0, 25);  // a pause between checks, bounded above
  }
  return cond();
}

TEST_F(AdminGate, ClientCertificateDecidesWhoMayDoWhat) {
  start_gate();
  // Without a client certificate the handshake fails (client_auth=REQUIRE).
  auto anon = call("", "GET", "/v1/status");
  EXPECT_EQ(anon.status, 0) << anon.body;
  EXPECT_NE(anon.curl_exit, 0);

  auto ops = call("ops", "GET", "/v1/status");
  ASSERT_EQ(ops.status, 200) << ops.body << ops.err << log();
  auto j = json::parse(ops.body);
  EXPECT_EQ(j["caller"], (json{{"identity", "ops"}, {"can_write", true}}));
  EXPECT_EQ(j["connectors"][0]["name"], "echo");
  EXPECT_FALSE(j["version"].get<std::string>().empty());

  auto viewer = call("viewer", "GET", "/v1/certificates");
  ASSERT_EQ(viewer.status, 200) << viewer.body;
  EXPECT_EQ(call("viewer", "GET", "/metrics").status, 200);
  EXPECT_EQ(call("viewer", "GET", "/").status, 200);
  for (auto [method, path] : {std::pair{"POST", "/v1/reload"},
                              {"DELETE", "/v1/connections/1"},
                              {"PUT", "/v1/policies/gate/certificate"}}) {
    auto r = call("viewer", method, path, "{}");
    EXPECT_EQ(r.status, 403) << method << " " << path << ": " << r.body;
    EXPECT_EQ(json::parse(r.body)["error"], "identity \"viewer\" may only read (GET)");
  }

  auto stranger = call("stranger", "GET", "/v1/status");
  EXPECT_EQ(stranger.status, 403) << stranger.body;
  EXPECT_TRUE(gate_->wait_for_log("admin API: client 127.0.0.1:")) << log();
  EXPECT_TRUE(gate_->wait_for_log("(identity \"stranger\") refused")) << log();

  // A certificate from a CA the admin policy does not trust: no handshake.
  auto mallory = call("mallory", "GET", "/v1/status");
  EXPECT_EQ(mallory.status, 0) << mallory.body;

  auto reload = call("ops", "POST", "/v1/reload");
  EXPECT_EQ(reload.status, 200) << reload.body;
  EXPECT_EQ(json::parse(reload.body)["ok"], true) << reload.body;
  EXPECT_EQ(call("ops", "DELETE", "/v1/connections/999999").status, 404);
}

TEST_F(AdminGate, MetricsPassPromtoolAndCountAnUntrustedClientOnce) {
  start_gate();
  const std::string series =
      "tlsgate_handshake_failures_total{connector=\"echo\",reason=\"unknown_ca\"}";
  ASSERT_TRUE(eventually([&] { return metric(series).has_value(); })) << metrics();
  const double before = *metric(series);
  EXPECT_FALSE(connect_as("mallory"));
  ASSERT_TRUE(eventually([&] { return metric(series) == before + 1; })) << metrics() << log();
  EXPECT_TRUE(data_path_serves());
  EXPECT_EQ(metric(series), before + 1);  // still exactly one

  auto text = metrics();
  test::write_text(dir_ / "metrics.txt", text);
  auto promtool =
      test::run_shell("timeout 30 promtool check metrics < " + test::q(dir_ / "metrics.txt"));
  EXPECT_EQ(promtool.code, 0) << promtool.out << promtool.err;
  EXPECT_EQ(promtool.out + promtool.err, "") << text;
  // The same text on the HTTPS listener.
  auto https = call("ops", "GET", "/metrics");
  EXPECT_EQ(https.status, 200);
  EXPECT_NE(https.body.find("# TYPE tlsgate_certificate_not_after_seconds gauge"),
            std::string::npos);
  auto health = test::run_shell(
      "curl -sS --max-time 10 http://127.0.0.1:" + std::to_string(metrics_port_) + "/healthz");
  EXPECT_EQ(health.out, "{\"status\":\"ok\"}");
  auto other =
      test::run_shell("curl -sS --max-time 10 -o /dev/null -w '%{http_code}' http://127.0.0.1:" +
                      std::to_string(metrics_port_) + "/v1/status");
  EXPECT_EQ(other.out, "404");
}

TEST_F(AdminGate, RotationMovesNotAfterAndReloadsOk) {
  start_gate();
  auto series_prefix = "tlsgate_certificate_not_after_seconds{policy=\"gate\",side=\"server\"";
  auto not_after = [&]() -> std::optional<std::string> {
    auto text = metrics();
    auto at = text.find(series_prefix);
    if (at == std::string::npos) return std::nullopt;
    auto eol = text.find('\n', at);
    return text.substr(at, eol - at);
  };
  const std::string ok = "tlsgate_reloads_total{policy=\"gate\",result=\"ok\"}";
  ASSERT_TRUE(eventually([&] { return not_after().has_value() && metric(ok).has_value(); }))
      << metrics();
  const auto before_line = *not_after();
  const double ok_before = *metric(ok);

  auto now = std::chrono::system_clock::now();
  auto next = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, false,
                              test::Validity{now - hours(1), now + hours(24 * 400)});
  test::write_key(policy_dir_ / ".private.key.new", next.key.get());
  test::write_cert(policy_dir_ / ".public.crt.new", next.cert.get());
  fs::rename(policy_dir_ / ".private.key.new", policy_dir_ / "private.key");
  fs::rename(policy_dir_ / ".public.crt.new", policy_dir_ / "public.crt");
  const auto serial = pki::serial_to_hex(next.cert.get());
  ASSERT_TRUE(eventually([&] { return served_serial() == serial; })) << log();
  ASSERT_TRUE(eventually([&] { return not_after() != before_line; })) << metrics();
  EXPECT_NE(not_after()->find("serial=\"" + serial + "\""), std::string::npos) << *not_after();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(
      pki::describe(next.cert.get(), util::SystemClock::instance()).not_after.time_since_epoch());
  EXPECT_TRUE(not_after()->ends_with(" " + std::to_string(secs.count()))) << *not_after();
  EXPECT_GT(*metric(ok), ok_before);
}

TEST_F(AdminGate, ConnectionsAreListedAndClosedOnRequest) {
  start_gate();
  HeldClient held(gate_port_);
  ASSERT_TRUE(held.established()) << log();
  auto list = call("viewer", "GET", "/v1/connections?connector=echo&limit=10");
  ASSERT_EQ(list.status, 200) << list.body;
  auto conns = json::parse(list.body)["connections"];
  ASSERT_EQ(conns.size(), 1u) << list.body;
  EXPECT_EQ(conns[0]["connector"], "echo");
  EXPECT_EQ(conns[0]["tls_version"], "TLSv1.3");
  const auto id = conns[0]["id"].get<std::string>();
  auto del = call("ops", "DELETE", "/v1/connections/" + id);
  EXPECT_EQ(del.status, 204) << del.body;
  EXPECT_TRUE(held.closed_by_peer()) << log();
  EXPECT_TRUE(gate_->wait_for_log("admin API, identity \"ops\"")) << log();
  EXPECT_EQ(call("ops", "DELETE", "/v1/connections/" + id).status, 404);
}

class AdminUpload : public AdminGate {
 protected:
  std::string pem_body(const pki::Issued& leaf, const EVP_PKEY* key = nullptr) {
    return json{{"certificate", *pki::certificate_pem(leaf.cert.get())},
                {"private_key", *pki::private_key_pem(key ? key : leaf.key.get())}}
        .dump();
  }
};

TEST_F(AdminUpload, GoodCertificateIsServedNextWithModes) {
  start_gate();
  auto fresh = test::make_leaf(ca_, {"localhost", "127.0.0.1"});
  auto r = call("ops", "PUT", "/v1/policies/gate/certificate", pem_body(fresh));
  ASSERT_EQ(r.status, 200) << r.body << log();
  auto j = json::parse(r.body);
  const auto serial = pki::serial_to_hex(fresh.cert.get());
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["certificate"]["serial"], serial);
  EXPECT_EQ(j["policies"][0]["new_serial"], serial) << r.body;
  EXPECT_EQ(served_serial(), serial);  // the very next handshake
  EXPECT_EQ(mode_of(policy_dir_ / "private.key"), 0400u);
  EXPECT_EQ(mode_of(policy_dir_ / "public.crt"), 0644u);
  EXPECT_TRUE(fs::exists(policy_dir_ / "private.key.bak"));
  EXPECT_TRUE(fs::exists(policy_dir_ / "public.crt.bak"));
  EXPECT_TRUE(data_path_serves());
}

TEST_F(AdminUpload, BadUploadsChangeNothing) {
  start_gate();
  const auto old_serial = pki::serial_to_hex(gate_cert_.cert.get());
  ASSERT_EQ(served_serial(), old_serial);
  const auto key_before = test::read_text(policy_dir_ / "private.key");
  const auto crt_before = test::read_text(policy_dir_ / "public.crt");
  auto now = std::chrono::system_clock::now();
  auto other = test::make_leaf(ca_, {"localhost", "127.0.0.1"});
  auto fresh = test::make_leaf(ca_, {"localhost", "127.0.0.1"});
  auto expired = test::make_leaf(ca_, {"localhost", "127.0.0.1"}, true, false,
                                 test::Validity{now - hours(48), now - hours(1)});
  auto wrong_names = test::make_leaf(ca_, {"db.example"});
  struct Case {
    const char* name;
    std::string body;
    std::string reason;
  };
  for (const auto& c : {Case{"mismatched key", pem_body(fresh, other.key.get()), "does not match"},
                        Case{"expired", pem_body(expired), ") expired on "},
                        Case{"names", pem_body(wrong_names), "does not cover \"127.0.0.1\""}}) {
    auto r = call("ops", "PUT", "/v1/policies/gate/certificate", c.body);
    EXPECT_EQ(r.status, 400) << c.name << ": " << r.body;
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_NE(j["error"].get<std::string>().find(c.reason), std::string::npos) << r.body;
    EXPECT_FALSE(j["fix"].get<std::string>().empty());
    EXPECT_EQ(test::read_text(policy_dir_ / "private.key"), key_before) << c.name;
    EXPECT_EQ(test::read_text(policy_dir_ / "public.crt"), crt_before) << c.name;
    EXPECT_FALSE(fs::exists(policy_dir_ / "private.key.bak")) << c.name;
    EXPECT_EQ(served_serial(), old_serial) << c.name;
  }
}

}  // namespace
}  // namespace tlsgate::e2e::admin
