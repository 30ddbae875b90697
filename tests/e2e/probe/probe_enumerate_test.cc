// `tlsgate probe --enumerate` against s_server restricted to known versions,
// suites and groups: the enumeration shows exactly those, and says which
// method found each (a suite this process's OpenSSL cannot offer, SEED without
// the legacy provider, is found by our own ClientHello).
#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/e2e_helpers.h"
#include "support/test_pki.h"

namespace tlsgate::e2e {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

class ProbeEnumerate : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) return;
    ca_ = test::make_test_ca("Enum CA");
    test::write_cert(path("ca.crt"), ca_.ca.cert.get());
    auto ec = test::make_leaf(ca_, {"localhost"});
    test::write_cert(path("ec.crt"), ec.cert.get());
    test::write_key(path("ec.key"), ec.key.get());
    pki::KeySpec rsa;
    rsa.type = pki::KeySpec::Type::kRsa;
    auto r = test::make_leaf(ca_, {"localhost"}, true, false, {}, rsa);
    test::write_cert(path("rsa.crt"), r.cert.get());
    test::write_key(path("rsa.key"), r.key.get());
  }

  // Enumerates an s_server with `extra` options; the parsed --json report.
  json enumerate(const std::string& cert, std::vector<std::string> extra) {
    OpensslServer s(path(cert + ".crt"), path(cert + ".key"), std::move(extra));
    std::string why = s.start();
    EXPECT_EQ(why, "");
    if (!why.empty()) return json::object();
    Proc r = tg("probe localhost:" + std::to_string(s.port()) + " --ca ca.crt --enumerate --json");
    EXPECT_EQ(r.code, 0) << describe(r) << s.output();
    return json::parse(r.out);
  }

  static std::vector<std::string> accepted_versions(const json& doc) {
    std::vector<std::string> out;
    for (const auto& v : doc["enumeration"]["versions"]) {
      if (v["accepted"]) out.push_back(v["version"]);
    }
    return out;
  }
  static const json& version(const json& doc, const std::string& name) {
    for (const auto& v : doc["enumeration"]["versions"]) {
      if (v["version"] == name) return v;
    }
    throw std::runtime_error("no version " + name);
  }
  static std::vector<std::string> suites(const json& v) {
    std::vector<std::string> out;
    for (const auto& s : v["suites"]) out.push_back(s["name"]);
    return out;
  }
  static std::vector<std::string> groups(const json& doc) {
    std::vector<std::string> out;
    for (const auto& g : doc["enumeration"]["groups"]) {
      if (g["accepted"]) out.push_back(g["name"]);
    }
    return out;
  }
  static std::string findings(const json& doc) {
    std::string out;
    for (const auto& f : doc["enumeration"]["findings"]) {
      out += f["severity"].get<std::string>() + ": " + f["what"].get<std::string>() + "\n";
    }
    return out;
  }

  test::TestCa ca_;
};

TEST_F(ProbeEnumerate, Tls12WithTwoGcmSuitesInTheServersOrder) {
  json doc = enumerate(
      "ec", {"-tls1_2", "-serverpref", "-cipher",
             "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384", "-groups", "P-256"});
  ASSERT_TRUE(doc.contains("enumeration")) << doc.dump(2);
  EXPECT_THAT(accepted_versions(doc), ElementsAre("TLSv1.2"));
  const json& v = version(doc, "TLSv1.2");
  EXPECT_THAT(suites(v), ElementsAre("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                                     "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"));
  EXPECT_EQ(v["server_order"], true);
  EXPECT_EQ(v["suites"][0]["method"], "openssl");
  EXPECT_EQ(v["suites"][0]["code"], "0xC02B");
  EXPECT_THAT(groups(doc), ElementsAre("P-256"));
  EXPECT_EQ(findings(doc), "warn: TLSv1.3 is not accepted\n");
}

// Under TLS 1.2 the groups offered also bound the curve of an ECDSA
// certificate: X25519 or P-384 offered alone fail against a P-256
// certificate, although the server takes both for its key exchange. The
// groups found are the server's, not the certificate's curve.
TEST_F(ProbeEnumerate, Tls12EcdsaServerShowsItsGroupsNotItsCertificatesCurve) {
  json doc = enumerate("ec", {"-tls1_2", "-groups", "X25519:P-384"});
  ASSERT_TRUE(doc.contains("enumeration")) << doc.dump(2);
  EXPECT_THAT(accepted_versions(doc), ElementsAre("TLSv1.2"));
  EXPECT_THAT(groups(doc), ElementsAre("X25519", "P-384")) << doc["enumeration"]["groups"].dump(2);
  for (const auto& g : doc["enumeration"]["groups"]) {
    EXPECT_EQ(g["known"], true) << g.dump();
    if (g["name"] == "X25519") {
      EXPECT_THAT(g["note"].get<std::string>(), HasSubstr("offered followed by P-256"));
    }
  }
}

// A TLS 1.2 server with its own order that prefers its certificate's curve:
// whether it also takes another group cannot be told, and the report says so
// rather than "refused".
TEST_F(ProbeEnumerate, Tls12EcdsaServerPreferringItsCurveLeavesOtherGroupsUnknown) {
  json doc = enumerate("ec", {"-tls1_2", "-serverpref", "-groups", "P-256:X25519"});
  ASSERT_TRUE(doc.contains("enumeration")) << doc.dump(2);
  EXPECT_THAT(groups(doc), ElementsAre("P-256"));
  bool x25519_seen = false;
  for (const auto& g : doc["enumeration"]["groups"]) {
    if (g["name"] != "X25519") continue;
    x25519_seen = true;
    EXPECT_EQ(g["accepted"], false);
    EXPECT_EQ(g["known"], false);
    EXPECT_THAT(g["note"].get<std::string>(), HasSubstr("not known: TLS 1.2 only"));
  }
  EXPECT_TRUE(x25519_seen);
  OpensslServer s(path("ec.crt"), path("ec.key"),
                  {"-tls1_2", "-serverpref", "-groups", "P-256:X25519"});
  ASSERT_EQ(s.start(), "");
  Proc text = tg("probe localhost:" + std::to_string(s.port()) + " --ca ca.crt --enumerate");
  EXPECT_THAT(text.out, HasSubstr("    X25519, P-384, P-521, X448: not known: TLS 1.2 only, and "
                                  "the server's ECDSA certificate is on P-256"));
}

// A TLS 1.2 server that requires a client certificate has chosen its suite
// and group when it asks for one: enumeration reads them there, so it finds
// the same without --cert as with it (it found nothing before).
TEST_F(ProbeEnumerate, Tls12ServerRequiringAClientCertificateIsEnumeratedWithOrWithoutOne) {
  auto client = test::make_leaf(ca_, {"client.test"}, false, true);
  test::write_cert(path("client.crt"), client.cert.get());
  test::write_key(path("client.key"), client.key.get());
  OpensslServer s(
      path("ec.crt"), path("ec.key"),
      {"-tls1_2", "-Verify", "1", "-CAfile", path("ca.crt").string(), "-cipher",
       "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384", "-groups", "P-256:X25519"});
  ASSERT_EQ(s.start(), "");
  for (std::string cert : {"", " --cert client.crt --key client.key"}) {
    SCOPED_TRACE(cert);
    Proc r = tg("probe localhost:" + std::to_string(s.port()) + " --ca ca.crt --enumerate --json" +
                cert);
    EXPECT_EQ(r.code, cert.empty() ? 1 : 0) << describe(r);
    json doc = json::parse(r.out);
    ASSERT_TRUE(doc.contains("enumeration")) << doc.dump(2);
    EXPECT_THAT(accepted_versions(doc), ElementsAre("TLSv1.2"));
    auto found = suites(version(doc, "TLSv1.2"));
    std::sort(found.begin(), found.end());
    EXPECT_THAT(found, ElementsAre("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                                   "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"));
    EXPECT_THAT(groups(doc), UnorderedElementsAre("P-256", "X25519"))
        << doc["enumeration"]["groups"].dump(2);
  }
}

TEST_F(ProbeEnumerate, ClientOrderIsRecognised) {
  json doc = enumerate(
      "ec", {"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"});
  EXPECT_EQ(version(doc, "TLSv1.2")["server_order"], false);
}

TEST_F(ProbeEnumerate, Tls13OnlyWithTwoSuites) {
  json doc = enumerate(
      "ec", {"-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256",
             "-groups", "X25519:P-384"});
  EXPECT_THAT(accepted_versions(doc), ElementsAre("TLSv1.3"));
  auto found = suites(version(doc, "TLSv1.3"));
  std::sort(found.begin(), found.end());
  EXPECT_THAT(found, ElementsAre("TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"));
  EXPECT_THAT(groups(doc), ElementsAre("X25519", "P-384"));
  EXPECT_EQ(findings(doc), "");
}

TEST_F(ProbeEnumerate, LegacyServerIsGradedAndOurClientHelloFindsWhatOpensslCannotOffer) {
  // The server loads the legacy provider (SEED); this process does not, so
  // its OpenSSL cannot offer SEED-SHA and our own ClientHello must find it.
  json doc =
      enumerate("rsa", {"-provider", "legacy", "-provider", "default", "-no_tls1_3", "-cipher",
                        "SEED-SHA:AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"});
  EXPECT_THAT(accepted_versions(doc), ElementsAre("TLSv1", "TLSv1.1", "TLSv1.2"));
  const json& v12 = version(doc, "TLSv1.2");
  auto found = suites(v12);
  std::sort(found.begin(), found.end());
  EXPECT_THAT(found, ElementsAre("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                                 "TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_SEED_CBC_SHA"));
  for (const auto& s : v12["suites"]) {
    EXPECT_EQ(s["method"], s["name"] == "TLS_RSA_WITH_SEED_CBC_SHA" ? "clienthello" : "openssl")
        << s.dump();
  }
  auto f = findings(doc);
  EXPECT_THAT(f, HasSubstr("fail: TLSv1 is accepted"));
  EXPECT_THAT(f, HasSubstr("fail: TLSv1.1 is accepted"));
  EXPECT_THAT(f, HasSubstr("fail: CBC (non-AEAD) suites accepted: "));
  EXPECT_THAT(f, HasSubstr("fail: static RSA key exchange (no forward secrecy) accepted: "));
  EXPECT_THAT(f, HasSubstr("TLS_RSA_WITH_SEED_CBC_SHA"));
}

TEST_F(ProbeEnumerate, TextReportSaysWhichMethodFoundEach) {
  OpensslServer s(path("rsa.crt"), path("rsa.key"),
                  {"-provider", "legacy", "-provider", "default", "-tls1_2", "-cipher",
                   "SEED-SHA:AES128-SHA:@SECLEVEL=0"});
  ASSERT_EQ(s.start(), "");
  Proc r = tg("probe localhost:" + std::to_string(s.port()) + " --ca ca.crt --enumerate");
  EXPECT_EQ(r.code, 0) << describe(r);
  EXPECT_THAT(r.out, HasSubstr("  TLSv1.2   accepted (openssl)"));
  EXPECT_THAT(r.out, HasSubstr("    TLS_RSA_WITH_SEED_CBC_SHA"));
  EXPECT_THAT(r.out, HasSubstr("[clienthello]"));
  EXPECT_THAT(r.out, HasSubstr("  SSLv3     refused"));
  EXPECT_THAT(r.out, HasSubstr("graded against Mozilla intermediate: "));
  EXPECT_THAT(r.out, HasSubstr("FAIL: static RSA key exchange"));
}

// What `nmap --script ssl-enum-ciphers` reports: version -> suites (IANA
// names; nmap's TLS_AKE_WITH_ prefix of TLS 1.3 suites made TLS_), and
// version -> "server"/"client" preference.
struct NmapView {
  std::map<std::string, std::set<std::string>> suites;
  std::map<std::string, std::string> preference;
};
NmapView nmap_enum(const fs::path& dir, int port) {
  Proc r = sh(dir, "timeout 120 nmap -Pn -p " + std::to_string(port) +
                       " --script ssl-enum-ciphers 127.0.0.1");
  EXPECT_EQ(r.code, 0) << describe(r);
  NmapView v;
  std::string version;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    auto t = trim(line.substr(line.find_first_not_of("|_ ") == std::string::npos
                                  ? line.size()
                                  : line.find_first_not_of("|_ ")));
    if (t.rfind("TLSv1", 0) == 0 || t.rfind("SSLv3", 0) == 0) {
      version = t.substr(0, t.find(':'));
      if (version == "TLSv1.0") version = "TLSv1";
    } else if (t.rfind("TLS_", 0) == 0 && !version.empty()) {
      std::string name = t.substr(0, t.find(' '));
      if (name.rfind("TLS_AKE_WITH_", 0) == 0) name = "TLS_" + name.substr(13);
      v.suites[version].insert(name);
    } else if (t.rfind("cipher preference: ", 0) == 0 && !version.empty()) {
      v.preference[version] = t.substr(19);
    }
  }
  return v;
}

TEST_F(ProbeEnumerate, EqualsNmapSslEnumCiphersSuiteForSuite) {
  if (sh(dir_, "command -v nmap").code != 0) GTEST_SKIP() << "nmap not installed";
  struct Case {
    std::string cert;
    std::vector<std::string> options;
  };
  const std::vector<Case> cases = {
      {"ec", {"-tls1_3"}},
      {"ec",
       {"-tls1_2", "-serverpref", "-cipher",
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-"
        "POLY1305"}},
      {"rsa",
       {"-provider", "legacy", "-provider", "default", "-no_tls1_3", "-cipher",
        "AES128-SHA:AES256-SHA:ECDHE-RSA-AES128-SHA:SEED-SHA:DES-CBC3-SHA:@SECLEVEL=0"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.cert + " " + ::testing::PrintToString(c.options));
    OpensslServer s(path(c.cert + ".crt"), path(c.cert + ".key"), c.options);
    ASSERT_EQ(s.start(), "");
    NmapView nmap = nmap_enum(dir_, s.port());
    Proc r = tg("probe localhost:" + std::to_string(s.port()) + " --ca ca.crt --enumerate --json");
    ASSERT_EQ(r.code, 0) << describe(r);
    json doc = json::parse(r.out);
    std::map<std::string, std::set<std::string>> ours;
    for (const auto& v : doc["enumeration"]["versions"]) {
      if (!v["accepted"]) continue;
      auto names = suites(v);
      ours[v["version"]] = std::set<std::string>(names.begin(), names.end());
      if (nmap.preference.count(v["version"]) && !v["server_order"].is_null()) {
        EXPECT_EQ(v["server_order"].get<bool>(), nmap.preference[v["version"]] == "server")
            << v["version"];
      }
    }
    EXPECT_FALSE(ours.empty());
    EXPECT_EQ(ours, nmap.suites);
  }
}

}  // namespace
}  // namespace tlsgate::e2e
