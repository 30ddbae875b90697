#include "admin/api.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pki/certificate_info.h"
#include "pki/encode.h"
#include "sample_status.h"
#include "support/temp_dir.h"

namespace tlsgate::admin {
namespace {

using nlohmann::json;

class AdminApi : public ::testing::Test {
 protected:
  AdminApi() : gate_(test::make_sample_gate(dir_.path())), backend_(gate_.status) {}

  ApiResponse call(const std::string& method, const std::string& target, Role role,
                   const std::string& body = "", Listener listener = Listener::kAdmin) {
    ApiOptions options;
    options.version = "9.9.9";
    Api api(backend_, options);
    ApiRequest r{method, target,          body, role == Role::kNone ? "CN=stranger" : "CN=ops",
                 role,   "127.0.0.1:4000"};
    std::optional<ApiResponse> out;
    int calls = 0;
    api.handle(r, listener, [&](ApiResponse res) {
      ++calls;
      out = std::move(res);
    });
    EXPECT_EQ(calls, 1);
    return out.value_or(ApiResponse{});
  }
  static json body(const ApiResponse& r) { return json::parse(r.body); }
  static json body_of(const ApiResponse& r) { return json::parse(r.body); }

  test::TempDir dir_;
  test::SampleGate gate_;
  test::FakeBackend backend_;
};

TEST_F(AdminApi, StatusHasTheDocumentedShape) {
  auto r = call("GET", "/v1/status", Role::kReadOnly);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  auto j = body(r);
  EXPECT_EQ(j["version"], "9.9.9");
  EXPECT_EQ(j["workers"], 2);
  EXPECT_GE(j["uptime_seconds"].get<int>(), 89);
  EXPECT_EQ(j["caller"], (json{{"identity", "CN=ops"}, {"can_write", false}}));
  EXPECT_TRUE(j["last_config_reload"].is_null());
  auto& c = j["connectors"][0];
  EXPECT_EQ(c["name"], "pg");
  EXPECT_EQ(c["handshake_failures"]["unknown_ca"], 3);
  EXPECT_EQ(c["handshakes"][0], (json{{"version", "TLSv1.3"}, {"resumed", false}, {"count", 8}}));
  EXPECT_EQ(c["refused"]["tls_setup"], 1);
  EXPECT_EQ(j["reloads"][0]["policy"], "pg");
  EXPECT_EQ(j["reloads"][0]["side"], "server");
  EXPECT_EQ(j["failures"][0]["by_reason"]["unknown_ca"], 3);
  EXPECT_EQ(j["ocsp"]["fetches"], 0);
}

TEST_F(AdminApi, CertificatesListEveryPolicyWithItsLeafAndTrust) {
  auto r = call("GET", "/v1/certificates", Role::kReadOnly);
  ASSERT_EQ(r.status, 200u) << r.body;
  auto p = body(r)["policies"][0];
  EXPECT_EQ(p["policy"], "pg");
  EXPECT_EQ(p["reloads_ok"], 3);
  EXPECT_EQ(p["source"]["private_key"], gate_.policy.private_key.string());
  const auto& info = *gate_.status.policies[0].context->certificate;
  EXPECT_EQ(p["certificate"]["serial"], info.serial_hex);
  EXPECT_EQ(p["certificate"]["san_dns"], json::array({"localhost"}));
  EXPECT_EQ(p["certificate"]["san_ip"], json::array({"127.0.0.1"}));
  EXPECT_EQ(p["certificate"]["spki_pin"], "sha256//" + info.pin_base64);
  EXPECT_GE(p["certificate"]["days_left"].get<int>(), 1);
  EXPECT_TRUE(p["ocsp"].is_null());
  ASSERT_EQ(p["trusted"].size(), 1u);
  EXPECT_EQ(p["trusted"][0]["subject"], "CN=Admin Test CA,O=tlsgate");
}

TEST_F(AdminApi, ConnectionsPassConnectorAndLimit) {
  net::ConnectionInfo c;
  c.id = 42;
  c.connector = "pg";
  c.identity = "app1";
  backend_.conns = {c};
  auto r = call("GET", "/v1/connections?connector=p%67&limit=5", Role::kReadOnly);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(backend_.asked_connector, "pg");
  EXPECT_EQ(backend_.asked_limit, 5u);
  EXPECT_EQ(body(r)["connections"][0]["id"], "42");
  EXPECT_EQ(call("GET", "/v1/connections", Role::kReadOnly).status, 200u);
  EXPECT_EQ(backend_.asked_limit, 100u);
  for (const char* bad : {"limit=0", "limit=10001", "limit=x", "limit=-1"}) {
    auto e = call("GET", std::string("/v1/connections?") + bad, Role::kReadOnly);
    EXPECT_EQ(e.status, 400u) << bad;
    EXPECT_TRUE(body(e).contains("fix")) << e.body;
  }
}

// Review s22 section 14: a typo in the connector is no empty list.
TEST_F(AdminApi, ConnectionsOfAnUnknownConnectorAre404NamingTheKnownOnes) {
  backend_.asked_connector = "untouched";
  auto r = call("GET", "/v1/connections?connector=nosuch", Role::kReadOnly);
  ASSERT_EQ(r.status, 404u) << r.body;
  EXPECT_EQ(body(r)["error"], "no connector \"nosuch\"");
  EXPECT_NE(body(r)["fix"].get<std::string>().find("connectors: pg"), std::string::npos) << r.body;
  EXPECT_EQ(backend_.asked_connector, "untouched");  // the gate was not asked
}

// HEAD is answered as GET (the server drops the body): same status and headers.
TEST_F(AdminApi, HeadIsAnsweredAsGet) {
  for (const char* path :
       {"/v1/status", "/v1/certificates", "/v1/connections", "/healthz", "/metrics", "/"}) {
    auto get = call("GET", path, Role::kReadOnly);
    auto head = call("HEAD", path, Role::kReadOnly);
    EXPECT_EQ(head.status, get.status) << path;
    EXPECT_EQ(head.content_type, get.content_type) << path;
    EXPECT_EQ(head.headers, get.headers) << path;
  }
  EXPECT_EQ(call("HEAD", "/metrics", Role::kNone, "", Listener::kMetrics).status, 200u);
  EXPECT_EQ(call("HEAD", "/v1/reload", Role::kReadWrite).status, 405u);
}

TEST_F(AdminApi, ReadOnlyMayNotChangeAnything) {
  for (auto [method, target] : {std::pair{"DELETE", "/v1/connections/42"},
                                {"POST", "/v1/reload"},
                                {"PUT", "/v1/policies/pg/certificate"}}) {
    auto r = call(method, target, Role::kReadOnly, "{}");
    EXPECT_EQ(r.status, 403u) << method << " " << target;
    EXPECT_EQ(body(r)["error"], "identity \"CN=ops\" may only read (GET)");
  }
  EXPECT_EQ(backend_.reloads, 0);
  EXPECT_EQ(backend_.closed_id, 0u);
}

TEST_F(AdminApi, NobodyGetsAnything) {
  for (const char* target : {"/v1/status", "/metrics", "/", "/nope", "/healthz"}) {
    auto r = call("GET", target, Role::kNone);
    EXPECT_EQ(r.status, 403u) << target;
    EXPECT_EQ(body(r)["fix"], "add it to admin.read_only_identities or admin.allowed_identities");
  }
}

TEST_F(AdminApi, WritersCloseAndReload) {
  auto r = call("DELETE", "/v1/connections/42", Role::kReadWrite);
  EXPECT_EQ(r.status, 204u);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(backend_.closed_by, "admin API, identity \"CN=ops\"");
  EXPECT_EQ(call("DELETE", "/v1/connections/7", Role::kReadWrite).status, 404u);
  EXPECT_EQ(call("DELETE", "/v1/connections/abc", Role::kReadWrite).status, 404u);

  tls::ReloadReport rep;
  rep.scope = "pg";
  rep.ok = false;
  rep.error = "ssl.policy.pg.private_key: broken";
  backend_.outcome.reports = {rep};
  auto reload = call("POST", "/v1/reload", Role::kReadWrite);
  EXPECT_EQ(reload.status, 400u);
  EXPECT_EQ(body(reload)["policies"][0]["error"], "ssl.policy.pg.private_key: broken");
  EXPECT_EQ(body(reload)["ok"], false);
  backend_.outcome.reports[0].ok = true;
  EXPECT_EQ(call("POST", "/v1/reload", Role::kReadWrite).status, 200u);
  EXPECT_EQ(backend_.reloads, 2);
}

TEST_F(AdminApi, WrongMethodAndPathAnswerInJson) {
  auto r = call("POST", "/v1/status", Role::kReadWrite);
  EXPECT_EQ(r.status, 405u);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Allow", "GET, HEAD"}));
  auto nf = call("GET", "/v2/status", Role::kReadWrite);
  EXPECT_EQ(nf.status, 404u);
  EXPECT_EQ(body(nf)["error"], "no such path: /v2/status");
  EXPECT_EQ(call("GET", "/v1/policies/pg/certificate", Role::kReadWrite).status, 405u);
  EXPECT_EQ(call("PUT", "/v1/policies/a/b/certificate", Role::kReadWrite).status, 404u);
  EXPECT_EQ(call("PUT", "/v1/policies/nope/certificate", Role::kReadWrite, "{}").status, 404u);
  EXPECT_EQ(call("GET", "/v1/st%zzatus", Role::kReadWrite).status, 400u);
}

TEST_F(AdminApi, DashboardIsServedToReaders) {
  auto r = call("GET", "/", Role::kReadOnly);
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(r.content_type.starts_with("text/html")) << r.content_type;
  EXPECT_EQ(call("GET", "/app.js", Role::kReadOnly).status, 200u);
  EXPECT_EQ(call("POST", "/", Role::kReadWrite).status, 405u);
}

TEST_F(AdminApi, MetricsListenerServesOnlyMetricsAndHealth) {
  auto m = call("GET", "/metrics", Role::kNone, "", Listener::kMetrics);
  EXPECT_EQ(m.status, 200u);
  EXPECT_EQ(m.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(m.body.find("tlsgate_connections_active{connector=\"pg\"} 2"), std::string::npos);
  auto h = call("GET", "/healthz", Role::kNone, "", Listener::kMetrics);
  EXPECT_EQ(h.status, 200u);
  EXPECT_EQ(body(h), (json{{"status", "ok"}}));
  EXPECT_EQ(call("GET", "/v1/status", Role::kNone, "", Listener::kMetrics).status, 404u);
  EXPECT_EQ(call("GET", "/", Role::kNone, "", Listener::kMetrics).status, 404u);
  EXPECT_EQ(call("POST", "/metrics", Role::kNone, "", Listener::kMetrics).status, 405u);
}

TEST_F(AdminApi, BadUploadBodiesAre400WithTheReason) {
  for (auto [b, words] : {std::pair{"not json", "the body is not JSON"},
                          {"[1]", "the body is not a JSON object"},
                          {"{\"certificate\": \"x\"}", "the body needs the strings"},
                          {"{\"pkcs12\": \"@@@\"}", "\"pkcs12\" is not base64"},
                          {"{\"pkcs12\": \"AAAA\", \"certificate\": \"x\"}", "both"}}) {
    auto r = call("PUT", "/v1/policies/pg/certificate", Role::kReadWrite, b);
    EXPECT_EQ(r.status, 400u) << b;
    EXPECT_NE(body(r)["error"].get<std::string>().find(words), std::string::npos) << r.body;
  }
  EXPECT_EQ(backend_.reloaded_scope, "");
}

TEST_F(AdminApi, UploadIsWrittenThenReloadedAndPutBackIfTheReloadFails) {
  auto fresh = test::make_leaf(gate_.ca, {"localhost", "127.0.0.1"});
  const std::string body = json{{"certificate", *pki::certificate_pem(fresh.cert.get())},
                                {"private_key", *pki::private_key_pem(fresh.key.get())}}
                               .dump();
  const auto old_crt = test::read_text(gate_.policy.public_certificate);
  tls::ReloadReport rep;
  rep.scope = "pg";
  rep.ok = true;
  rep.changed = true;
  backend_.outcome.reports = {rep};
  auto ok = call("PUT", "/v1/policies/pg/certificate", Role::kReadWrite, body);
  ASSERT_EQ(ok.status, 200u) << ok.body;
  EXPECT_EQ(backend_.reloaded_scope, "pg");
  EXPECT_EQ(body_of(ok)["certificate"]["serial"], pki::serial_to_hex(fresh.cert.get()));
  EXPECT_EQ(test::read_text(gate_.policy.public_certificate),
            *pki::certificate_pem(fresh.cert.get()));

  auto next = test::make_leaf(gate_.ca, {"localhost", "127.0.0.1"});
  backend_.outcome.reports[0].ok = false;
  backend_.outcome.reports[0].error = "broken";
  auto failed = call("PUT", "/v1/policies/pg/certificate", Role::kReadWrite,
                     json{{"certificate", *pki::certificate_pem(next.cert.get())},
                          {"private_key", *pki::private_key_pem(next.key.get())}}
                         .dump());
  EXPECT_EQ(failed.status, 500u) << failed.body;
  EXPECT_NE(body_of(failed)["error"].get<std::string>().find("the old pair is back in place"),
            std::string::npos);
  // The pair before this upload (the first one's) is served from disk again.
  EXPECT_EQ(test::read_text(gate_.policy.public_certificate),
            *pki::certificate_pem(fresh.cert.get()));
  EXPECT_NE(old_crt, test::read_text(gate_.policy.public_certificate));
}

}  // namespace
}  // namespace tlsgate::admin
