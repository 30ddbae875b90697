// What a reload says about itself (review s22 §3, §4, §5, §12): each
// restart-only key it did not apply, a user_map that failed, and whether
// anything served changed — in the log, the POST /v1/reload answer,
// /v1/status and /metrics, asked with curl as an operator would.
#include <signal.h>

#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/echo_server.h"
#include "support/gate_test.h"
#include "support/loopback.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Answer {
  int status = 0;
  json body;
};

size_t occurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// A gate with the admin listener (ops may write, viewer may read) and a
// postgres connector whose user_map is maps/users.map.
class ReloadReportTest : public GateTest {
 protected:
  ReloadReportTest() : GateTest("reload report CA", fs::path("certs") / "gate") {}

  void SetUp() override {
    GateTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    map_ = dir_ / "maps" / "users.map";
    write_text(map_, "app1 app1\n");
    conf_.set("server.log_level", "debug")
        .set("server.reload_settle", "50ms")
        .set("ssl.policy.gate.enabled", "true")
        .set("ssl.policy.gate.base_directory", "certs/gate")
        .set("connector.echo.listen_address", "127.0.0.1:" + std::to_string(gate_port_))
        .set("connector.echo.upstream_address", "127.0.0.1:" + std::to_string(echo_.port()))
        .set("connector.echo.ssl_policy", "gate")
        .set("connector.pg.listen_address", "127.0.0.1:" + std::to_string(free_loopback_port()))
        .set("connector.pg.upstream_address", "127.0.0.1:" + std::to_string(free_loopback_port()))
        .set("connector.pg.protocol", "postgres")
        .set("connector.pg.ssl_policy", "gate")
        .set("connector.pg.user_map", "maps/users.map");
    enable_admin(dir_, {"ops", "viewer"});
  }

  Answer call(const std::string& who, const std::string& method, const std::string& path) {
    auto body = dir_ / "answer.json";
    std::error_code ec;
    fs::remove(body, ec);
    auto r = run_shell("curl -sS --max-time 15 -o " + q(body) + " -w '%{http_code}' --cacert " +
                           q(ca_file_) + " --cert " + q(dir_ / (who + ".crt")) + " --key " +
                           q(dir_ / (who + ".key")) + " -X " + method +
                           " https://127.0.0.1:" + std::to_string(admin_port_) + path,
                       {}, Millis(30000));
    Answer a;
    a.status = std::atoi(r.out.c_str());
    if (fs::exists(body)) a.body = json::parse(read_text(body), nullptr, false);
    return a;
  }

  std::string metrics() {
    auto r = run_shell(
        "curl -sS --max-time 10 http://127.0.0.1:" + std::to_string(metrics_port_) + "/metrics", {},
        Millis(20000));
    return r.code == 0 ? r.out : "";
  }

  // The config file's line that sets `key`.
  int line_of(const std::string& key) {
    std::istringstream in(read_text(gate_->config_file()));
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.starts_with(key + "=")) return n;
    }
    return 0;
  }

  void rewrite_config() { write_text(gate_->config_file(), conf_.text()); }

  // Waits (bounded) until `done` holds.
  static bool eventually(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
  }

  EchoServer echo_;
  fs::path map_;
};

TEST_F(ReloadReportTest, RemovedAdminAccessIsNamedAsNotAppliedInLogAnswerAndStatus) {
  start_gate();
  conf_.set("admin.read_only_identities", "");
  rewrite_config();
  const std::string warning = gate_->config_file().string() + ":" +
                              std::to_string(line_of("admin.read_only_identities")) +
                              ": admin.read_only_identities changed; it takes effect only after "
                              "a restart (systemctl restart tlsgate)";
  ASSERT_EQ(::kill(gate_->pid(), SIGHUP), 0);
  ASSERT_TRUE(gate_->wait_for_log("warning reload: " + warning)) << log();

  // Still in force until a restart, and the answer says so; the policies
  // were applied, so the reload is ok.
  auto answer = call("ops", "POST", "/v1/reload");
  EXPECT_EQ(answer.status, 200) << answer.body.dump();
  EXPECT_EQ(answer.body["ok"], true);
  EXPECT_EQ(answer.body["warnings"], json::array({warning})) << answer.body.dump();
  auto status = call("viewer", "GET", "/v1/status");
  ASSERT_EQ(status.status, 200);
  EXPECT_EQ(status.body["last_config_reload"]["warnings"], json::array({warning}))
      << status.body.dump();
}

TEST_F(ReloadReportTest, BrokenUserMapFailsTheAnswerAndShowsInStatusAndMetrics) {
  start_gate();
  const std::string series = "tlsgate_user_map_failing{connector=\"pg\"}";
  EXPECT_NE(metrics().find(series + " 0"), std::string::npos) << metrics();
  write_text(map_, "app1 app1\nbroken\n");
  ASSERT_TRUE(gate_->wait_for_log("connector.pg.user_map: reload failed")) << log();

  auto answer = call("ops", "POST", "/v1/reload");
  EXPECT_EQ(answer.status, 400) << answer.body.dump();
  EXPECT_EQ(answer.body["ok"], false);
  ASSERT_EQ(answer.body["user_maps"].size(), 1u) << answer.body.dump();
  const auto& m = answer.body["user_maps"][0];
  EXPECT_EQ(m["connector"], "pg");
  EXPECT_EQ(m["file"], map_.string());
  EXPECT_EQ(m["ok"], false);
  EXPECT_EQ(m["changed"], false);
  EXPECT_NE(m["error"].get<std::string>().find(map_.string() + ":2: \"broken\""), std::string::npos)
      << m.dump();

  auto status = call("viewer", "GET", "/v1/status");
  ASSERT_EQ(status.body["user_maps"].size(), 1u) << status.body.dump();
  EXPECT_EQ(status.body["user_maps"][0]["ok"], false);
  EXPECT_EQ(status.body["user_maps"][0]["error"], m["error"]);
  EXPECT_NE(metrics().find(series + " 1"), std::string::npos) << metrics();

  write_text(map_, "app1 app1\napp2 app2\n");
  EXPECT_TRUE(eventually([&] { return metrics().find(series + " 0") != std::string::npos; }))
      << log();
  EXPECT_EQ(call("ops", "POST", "/v1/reload").status, 200);
}

TEST_F(ReloadReportTest, ABrokenUserMapIsLoggedOncePerContent) {
  start_gate();
  const std::string failed = "error connector.pg.user_map: reload failed";
  write_text(map_, "app1 app1\nbroken\n");
  ASSERT_TRUE(gate_->wait_for_log(failed)) << log();
  // A log beside the map, and the same broken text written again: nothing new to say.
  for (int i = 0; i < 20; ++i) write_text(map_.parent_path() / "gate.log", std::to_string(i));
  for (int i = 0; i < 3; ++i) {
    write_text(map_, "app1 app1\nbroken\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(120));  // past the settle window
  }
  write_text(map_, "app1 app1\nbroken2\n");
  ASSERT_TRUE(gate_->wait_for_log("\"broken2\" has no database user")) << log();
  EXPECT_EQ(occurrences(log(), failed), 2u) << log();
}

TEST_F(ReloadReportTest, AnIdleReloadReportsUnchangedAndCountsNoReload) {
  start_gate();
  const std::string ok = "tlsgate_reloads_total{policy=\"gate\",result=\"ok\"} 0";
  EXPECT_NE(metrics().find(ok), std::string::npos) << metrics();
  // Files beside the policy's that it does not read.
  write_text(policy_dir_ / "README", "notes\n");
  for (int i = 0; i < 2; ++i) {
    auto answer = call("ops", "POST", "/v1/reload");
    ASSERT_EQ(answer.status, 200) << answer.body.dump();
    ASSERT_FALSE(answer.body["policies"].empty());
    for (const auto& p : answer.body["policies"]) {
      EXPECT_EQ(p["changed"], false) << p.dump();
      EXPECT_EQ(p["old_serial"], p["new_serial"]);
    }
  }
  EXPECT_NE(metrics().find(ok), std::string::npos) << metrics();
  // The same bytes written again (as after an upload, which the watcher then
  // sees): re-read at debug, not counted.
  write_text(policy_dir_ / "public.crt", read_text(policy_dir_ / "public.crt"));
  ASSERT_TRUE(
      gate_->wait_for_log("debug ssl.policy.gate (incoming): reloaded after a file "
                          "change: unchanged"))
      << log();
  EXPECT_NE(metrics().find(ok), std::string::npos) << metrics();
  EXPECT_TRUE(gate_->wait_for_log(
      "info ssl.policy.gate (incoming): reloaded after a configuration reload: unchanged"))
      << log();
  EXPECT_EQ(log().find("reloaded after a configuration reload: certificate serial"),
            std::string::npos)
      << log();
}

}  // namespace
}  // namespace tlsgate::test
