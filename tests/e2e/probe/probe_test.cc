// `tlsgate probe` against `openssl s_server` with chains minted by test_pki:
// verdicts and exit codes, client-certificate requests, --json, and the
// connection steps that fail (refused, DNS, hostile servers), bad usage.
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/e2e_helpers.h"
#include "support/loopback.h"
#include "support/test_pki.h"

namespace tlsgate::e2e {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

class Probe : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) return;
    ca_ = test::make_test_ca("Probe CA");
    other_ca_ = test::make_test_ca("Other CA");
    client_ca_ = test::make_test_ca("Client CA");
    auto leaf = test::make_leaf(ca_, {"localhost", "127.0.0.1"});
    test::write_cert(path("ca.crt"), ca_.ca.cert.get());
    test::write_cert(path("other-ca.crt"), other_ca_.ca.cert.get());
    test::write_cert(path("client-ca.crt"), client_ca_.ca.cert.get());
    test::write_cert(path("server.crt"), leaf.cert.get());
    test::write_key(path("server.key"), leaf.key.get());
    auto client = test::make_leaf(client_ca_, {"app1"}, false, true);
    test::write_cert(path("app1.crt"), client.cert.get());
    test::write_key(path("app1.key"), client.key.get());
  }

  // s_server with the leaf above and `extra` options; fails the test if it does not start.
  std::unique_ptr<OpensslServer> serve(std::vector<std::string> extra = {},
                                       const std::string& cert = "server.crt",
                                       const std::string& key = "server.key") {
    auto s = std::make_unique<OpensslServer>(path(cert), path(key), std::move(extra));
    std::string why = s->start();
    EXPECT_EQ(why, "");
    return s;
  }

  Proc probe(const std::string& args) const { return tg("probe " + args); }
  static std::string at(const OpensslServer& s) { return "127.0.0.1:" + std::to_string(s.port()); }
  static std::string localhost(const OpensslServer& s) {
    return "localhost:" + std::to_string(s.port());
  }

  test::TestCa ca_, other_ca_, client_ca_;
};

TEST_F(Probe, VerifiedChainExitsZeroAndShowsTheHandshake) {
  auto s = serve();
  Proc r = probe(localhost(*s) + " --ca ca.crt");
  ASSERT_EQ(r.code, 0) << describe(r);
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out, HasSubstr("localhost:" + std::to_string(s->port()) + " (127.0.0.1:"));
  EXPECT_THAT(r.out, HasSubstr("TLS:                TLSv1.3, TLS_"));
  EXPECT_THAT(r.out, HasSubstr("key exchange:       X25519"));
  EXPECT_THAT(r.out, HasSubstr("subject:     CN=localhost,O=tlsgate"));
  EXPECT_THAT(r.out, HasSubstr("names:       DNS:localhost, IP:127.0.0.1"));
  EXPECT_THAT(r.out, HasSubstr("verification:       OK: the chain verifies against --ca ca.crt "
                               "and names localhost"));
  EXPECT_THAT(r.out, HasSubstr("client certificate: not requested"));
  EXPECT_THAT(r.out, HasSubstr("OCSP:               not stapled"));
  EXPECT_THAT(r.out, HasSubstr("resumption:         works (tickets)"));
  // The pin is `cert pin`'s, and openssl's.
  auto pin = openssl_pin(dir_, "server.crt");
  EXPECT_THAT(r.out, HasSubstr("sha256:" + pin.first));
  EXPECT_THAT(r.out, HasSubstr("sha256//" + pin.second));
  Proc pinned = tg_ok("cert pin server.crt");
  EXPECT_THAT(r.out, HasSubstr(lines(pinned.out).at(0)));
}

TEST_F(Probe, WrongCaExitsOneWithTheReason) {
  auto s = serve();
  Proc r = probe(localhost(*s) + " --ca other-ca.crt");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.out, HasSubstr("verification:       FAILED [unknown_ca]"));
  EXPECT_THAT(r.err, HasSubstr("failed at verification [unknown_ca]: the certificate "
                               "CN=localhost,O=tlsgate (issuer CN=Probe CA,O=tlsgate) does not "
                               "chain to a CA in --ca other-ca.crt"));
  EXPECT_THAT(r.err, HasSubstr("pass the issuing CA with --ca FILE"));
}

TEST_F(Probe, SystemStoreDoesNotKnowATestCa) {
  auto s = serve();
  Proc r = probe(localhost(*s));
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("does not chain to a CA in the system store"));
}

TEST_F(Probe, NameMismatchExitsOne) {
  auto s = serve();
  Proc r = probe(at(*s) + " --ca ca.crt --servername db.example.com");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.out, HasSubstr("name checked:       db.example.com (sent as SNI)"));
  EXPECT_THAT(r.err, HasSubstr("failed at verification [hostname_mismatch]: the certificate "
                               "CN=localhost,O=tlsgate does not name db.example.com"));
}

TEST_F(Probe, ExpiredCertificateExitsOne) {
  auto now = std::chrono::system_clock::now();
  auto leaf = test::make_leaf(
      ca_, {"localhost"}, true, false,
      test::Validity{now - std::chrono::hours(24 * 30), now - std::chrono::hours(24 * 2)});
  test::write_cert(path("old.crt"), leaf.cert.get());
  test::write_key(path("old.key"), leaf.key.get());
  auto s = serve({}, "old.crt", "old.key");
  Proc r = probe(localhost(*s) + " --ca ca.crt");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.out, HasSubstr("EXPIRED"));
  EXPECT_THAT(r.err, HasSubstr("failed at verification [expired]: a certificate of the chain "
                               "has expired"));
}

TEST_F(Probe, SelfSignedServerIsNamed) {
  ASSERT_EQ(shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
                  "-subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout self.key "
                  "-out self.crt 2>&1")
                .code,
            0);
  auto s = serve({}, "self.crt", "self.key");
  Proc r = probe(localhost(*s) + " --ca ca.crt");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("[unknown_ca]"));
  EXPECT_THAT(r.err, HasSubstr("self-signed certificate"));
}

TEST_F(Probe, ClientCertificateRequestShowsTheAcceptedCas) {
  auto s = serve({"-verify", "1", "-CAfile", path("client-ca.crt").string()});
  Proc r = probe(localhost(*s) + " --ca ca.crt");
  ASSERT_EQ(r.code, 0) << describe(r);
  EXPECT_THAT(r.out, HasSubstr("client certificate: requested, none sent"));
  EXPECT_THAT(r.out, HasSubstr("  accepted CA:      CN=Client CA,O=tlsgate"));
  Proc j = probe(localhost(*s) + " --ca ca.crt --json");
  auto doc = json::parse(j.out);
  EXPECT_EQ(doc["client_certificate"]["requested"], true);
  EXPECT_EQ(doc["client_certificate"]["ca_names"], json::array({"CN=Client CA,O=tlsgate"}));
}

TEST_F(Probe, RequiredClientCertificateWithAndWithoutCertKey) {
  auto s = serve({"-Verify", "1", "-CAfile", path("client-ca.crt").string()});
  Proc without = probe(localhost(*s) + " --ca ca.crt");
  EXPECT_EQ(without.code, 1) << describe(without);
  EXPECT_THAT(without.err, HasSubstr("failed at handshake [no_certificate]"));
  EXPECT_THAT(without.err, HasSubstr("pass one with --cert FILE --key FILE"));
  EXPECT_THAT(without.out, HasSubstr("resumption:         no: not tried: the server refused this "
                                     "client after the handshake"));
  Proc with = probe(localhost(*s) + " --ca ca.crt --cert app1.crt --key app1.key");
  EXPECT_EQ(with.code, 0) << describe(with);
  EXPECT_THAT(with.out, HasSubstr("client certificate: requested, one sent"));
}

// TLS 1.2 has no certificate_required alert: OpenSSL's server ends the
// handshake with handshake_failure after its CertificateRequest, which read
// as "no cipher suite in common" before.
TEST_F(Probe, RequiredClientCertificateUnderTls12AndTls13) {
  for (std::string version : {"-tls1_2", "-tls1_3"}) {
    SCOPED_TRACE(version);
    auto s = serve({version, "-Verify", "1", "-CAfile", path("client-ca.crt").string()});
    Proc without = probe(localhost(*s) + " --ca ca.crt --json");
    EXPECT_EQ(without.code, 1) << describe(without);
    EXPECT_THAT(without.err, HasSubstr("failed at handshake [no_certificate]: " + localhost(*s) +
                                       " requires a client certificate; pass one with --cert "
                                       "FILE --key FILE"));
    EXPECT_THAT(without.err, Not(HasSubstr("no_shared_cipher")));
    json doc = json::parse(without.out);
    EXPECT_EQ(doc["failure"]["reason"], "no_certificate");
    EXPECT_EQ(doc["client_certificate"]["requested"], true);
    Proc with = probe(localhost(*s) + " --ca ca.crt --cert app1.crt --key app1.key");
    EXPECT_EQ(with.code, 0) << describe(with);
    EXPECT_THAT(with.out, HasSubstr("client certificate: requested, one sent"));
  }
}

TEST_F(Probe, Tls12ServerShowsItsGroupAndSessionResumption) {
  auto s = serve({"-tls1_2", "-groups", "P-384"});
  Proc r = probe(localhost(*s) + " --ca ca.crt");
  ASSERT_EQ(r.code, 0) << describe(r);
  EXPECT_THAT(r.out, HasSubstr("TLS:                TLSv1.2, TLS_ECDHE_ECDSA_WITH_"));
  EXPECT_THAT(r.out, HasSubstr("key exchange:       P-384"));
  EXPECT_THAT(r.out, HasSubstr("resumption:         works ("));
}

TEST_F(Probe, JsonCarriesTheDocumentedFields) {
  auto s = serve();
  Proc r = probe(localhost(*s) + " --ca ca.crt --json");
  ASSERT_EQ(r.code, 0) << describe(r);
  json doc = json::parse(r.out);
  EXPECT_EQ(doc["schema"], "tlsgate.probe/1");
  EXPECT_EQ(doc["target"], localhost(*s));
  EXPECT_EQ(doc["address"], at(*s));
  EXPECT_EQ(doc["server_name"], "localhost");
  EXPECT_EQ(doc["sni_sent"], true);
  EXPECT_TRUE(doc["starttls"].is_null());
  EXPECT_EQ(doc["verified"], true);
  EXPECT_TRUE(doc["failure"].is_null());
  EXPECT_EQ(doc["tls"]["version"], "TLSv1.3");
  EXPECT_EQ(doc["tls"]["group"], "X25519");
  EXPECT_TRUE(doc["tls"]["alpn"].is_null());
  ASSERT_EQ(doc["chain"].size(), 1U);
  auto pin = openssl_pin(dir_, "server.crt");
  EXPECT_EQ(doc["chain"][0]["pin"]["sha256_hex"], pin.first);
  EXPECT_EQ(doc["chain"][0]["pin"]["sha256_base64"], pin.second);
  EXPECT_EQ(doc["chain"][0]["san"]["dns"], json::array({"localhost"}));
  EXPECT_EQ(doc["chain"][0]["key"]["type"], "EC");
  EXPECT_GT(doc["chain"][0]["days_left"].get<int>(), 300);
  EXPECT_EQ(doc["verification"]["verified"], true);
  EXPECT_EQ(doc["verification"]["trust"], "--ca ca.crt");
  EXPECT_EQ(doc["ocsp"]["stapled"], false);
  EXPECT_EQ(doc["resumption"]["resumed"], true);
  EXPECT_EQ(doc["resumption"]["method"], "tickets");
  EXPECT_TRUE(doc["enumeration"].is_null());

  Proc bad = probe(localhost(*s) + " --ca other-ca.crt --json");
  EXPECT_EQ(bad.code, 1);
  json b = json::parse(bad.out);
  EXPECT_EQ(b["verified"], false);
  EXPECT_EQ(b["failure"]["step"], "verification");
  EXPECT_EQ(b["failure"]["reason"], "unknown_ca");
  EXPECT_EQ(b["verification"]["reason"], "unknown_ca");
}

class ProbeStaple : public Probe {
 protected:
  // An OCSP response about server.crt into `out`: signed by `signer` (a CA
  // of this fixture: "ca" or "other-ca"), with the index line's status
  // (V good, R revoked).
  void respond(const std::string& signer, const std::string& status, const std::string& out) {
    test::write_key(path("ca.key"), ca_.ca.key.get());
    test::write_key(path("other-ca.key"), other_ca_.ca.key.get());
    ASSERT_EQ(shell("openssl ocsp -issuer ca.crt -cert server.crt -reqout req.der 2>&1").code, 0);
    std::string revoked = status == "R" ? "261201000000Z,keyCompromise" : "";
    Proc r = shell(
        "serial=$(openssl x509 -in server.crt -noout -serial | cut -d= -f2) && "
        "printf '" +
        status + "\\t300101000000Z\\t" + revoked +
        "\\t%s\\tunknown\\t/CN=localhost\\n' \"$serial\" > index.txt && "
        "openssl ocsp -index index.txt -rsigner " +
        signer + ".crt -rkey " + signer + ".key -CA ca.crt -reqin req.der -respout " + out +
        " -ndays 1 2>&1");
    ASSERT_EQ(r.code, 0) << describe(r);
  }
};

TEST_F(ProbeStaple, StapledOcspResponseIsVerifiedAndShown) {
  // s_server staples a response file as is (-status_file).
  respond("ca", "V", "resp.der");
  auto s = serve({"-status_file", path("resp.der").string()});
  Proc r = probe(localhost(*s) + " --ca ca.crt --json");
  ASSERT_EQ(r.code, 0) << describe(r);
  json doc = json::parse(r.out);
  EXPECT_EQ(doc["ocsp"]["stapled"], true);
  EXPECT_EQ(doc["ocsp"]["verified"], true);
  EXPECT_EQ(doc["ocsp"]["problem"], nullptr);
  EXPECT_EQ(doc["ocsp"]["response_status"], "successful");
  EXPECT_EQ(doc["ocsp"]["cert_status"], "good");
  EXPECT_THAT(doc["ocsp"]["this_update"].get<std::string>(), HasSubstr(" UTC"));
  Proc text = probe(localhost(*s) + " --ca ca.crt");
  EXPECT_THAT(text.out, HasSubstr("stapled, response successful, verified: certificate good"));
}

TEST_F(ProbeStaple, AStapleSignedByAnotherCaFailsTheVerdict) {
  // "good", but signed by a CA that did not issue the leaf: anyone could have.
  respond("other-ca", "V", "forged.der");
  auto s = serve({"-status_file", path("forged.der").string()});
  Proc r = probe(localhost(*s) + " --ca ca.crt --json");
  EXPECT_EQ(r.code, 1) << describe(r);
  json doc = json::parse(r.out);
  EXPECT_EQ(doc["ocsp"]["verified"], false);
  EXPECT_FALSE(doc["ocsp"]["problem"].get<std::string>().empty());
  EXPECT_EQ(doc["verified"], false);
  EXPECT_EQ(doc["failure"]["reason"], "revocation_unknown");
  EXPECT_THAT(r.err, HasSubstr("staples an OCSP response that does not verify"));
  Proc text = probe(localhost(*s) + " --ca ca.crt");
  EXPECT_THAT(text.out, HasSubstr("NOT VERIFIED ("));
  EXPECT_THAT(text.out, HasSubstr("it claims certificate good"));
}

TEST_F(ProbeStaple, AVerifiedStapleThatSaysRevokedFailsTheVerdict) {
  respond("ca", "R", "revoked.der");
  auto s = serve({"-status_file", path("revoked.der").string()});
  Proc r = probe(localhost(*s) + " --ca ca.crt --json");
  EXPECT_EQ(r.code, 1) << describe(r);
  json doc = json::parse(r.out);
  EXPECT_EQ(doc["ocsp"]["verified"], true);
  EXPECT_EQ(doc["ocsp"]["cert_status"], "revoked");
  EXPECT_EQ(doc["ocsp"]["revocation_reason"], "keyCompromise");
  EXPECT_EQ(doc["failure"]["reason"], "revoked");
  EXPECT_THAT(r.err, HasSubstr("own stapled OCSP response says its certificate"));
}

TEST_F(Probe, ConnectionRefusedSaysTcp) {
  int port = free_loopback_port();
  Proc r = probe("127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("failed at tcp [connect_failed]: cannot connect to 127.0.0.1:" +
                               std::to_string(port) + ": Connection refused"));
  Proc j = probe("127.0.0.1:" + std::to_string(port) + " --json");
  EXPECT_EQ(json::parse(j.out)["failure"]["step"], "tcp");
}

TEST_F(Probe, DnsFailureSaysDns) {
  Proc r = probe("no-such-host.invalid:5432 --timeout 5");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.err,
              HasSubstr("failed at dns [connect_failed]: cannot resolve no-such-host.invalid"));
}

TEST_F(Probe, BadUsageExitsTwo) {
  EXPECT_EQ(probe("").code, 2);
  Proc r = probe("just-a-host");
  EXPECT_EQ(r.code, 2) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("just-a-host: not HOST:PORT"));
  r = probe("localhost:5432 --starttls smtp");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--starttls smtp: use postgres, mysql or nats"));
  r = probe("localhost:5432 --cert app1.crt");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--cert and --key go together"));
  r = probe("localhost:5432 --ca missing.crt");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("missing.crt: no such file"));
  r = probe("localhost:5432 --timeout 0");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(probe("localhost:5432 --bogus").code, 2);
  // Our own files that hold the wrong thing: bad usage naming the option,
  // before any connection (they "failed at handshake" with exit 1 before).
  r = probe("localhost:5432 --ca server.key");
  EXPECT_EQ(r.code, 2) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("--ca: server.key: not a certificate"));
  r = probe("localhost:5432 --cert app1.key --key app1.key");
  EXPECT_EQ(r.code, 2) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("--cert: app1.key: not a certificate"));
  r = probe("localhost:5432 --cert app1.crt --key server.key");
  EXPECT_EQ(r.code, 2) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("does not match"));
  r = probe("localhost:5432 --ca /dev/null");
  EXPECT_EQ(r.code, 2) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("/dev/null: not a regular file"));
}

// A listener of our own that answers every connection with `answer` (or
// nothing), then holds it open until the test ends.
class HostileServer {
 public:
  explicit HostileServer(std::string answer, bool close_after = false)
      : fd_(test::listen_loopback(&port_)) {
    thread_ = std::thread([this, answer = std::move(answer), close_after] {
      for (int i = 0; i < 4; ++i) {  // the probe connects at most a few times
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        if (!answer.empty()) (void)!::write(c, answer.data(), answer.size());
        if (close_after) {
          ::close(c);
        } else {
          held_.push_back(c);
        }
      }
    });
  }
  ~HostileServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (int c : held_) ::close(c);
  }
  int port() const { return port_; }

 private:
  int port_ = 0;
  int fd_;
  std::vector<int> held_;
  std::thread thread_;
};

TEST_F(Probe, EnumerationOfASilentServerIsIncompleteNotClean) {
  // Every attempt meets the timeout: nothing was refused, and no findings is
  // no verdict (it read "no findings", the profile's "fits", before).
  HostileServer silent("");
  const std::string target = "127.0.0.1:" + std::to_string(silent.port());
  Proc r = probe(target + " --timeout 0.5 --enumerate --json");
  EXPECT_EQ(r.code, 1) << describe(r);
  json doc = json::parse(r.out);
  EXPECT_EQ(doc["enumeration"]["complete"], false);
  for (const auto& v : doc["enumeration"]["versions"]) {
    EXPECT_EQ(v["accepted"], false) << v.dump();
    ASSERT_TRUE(v["error"].is_string()) << v.dump();
    EXPECT_THAT(v["error"].get<std::string>(), HasSubstr("no answer within 0.5 s (timeout)"));
  }
  Proc text = probe(target + " --timeout 0.5 --enumerate");
  EXPECT_THAT(text.out, HasSubstr("not known: no answer within 0.5 s (timeout)"));
  EXPECT_THAT(text.out, HasSubstr("but incomplete: a version above was not answered"));
}

TEST_F(Probe, HostileServersAreBoundedAndNamed) {
  {
    HostileServer garbage("this is not TLS at all\r\n\r\n", true);
    Proc r = probe("127.0.0.1:" + std::to_string(garbage.port()) + " --timeout 2");
    EXPECT_EQ(r.code, 1) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("failed at handshake"));
  }
  {
    HostileServer silent("");
    auto t0 = std::chrono::steady_clock::now();
    Proc r = probe("127.0.0.1:" + std::to_string(silent.port()) + " --timeout 0.5");
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(r.code, 1) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("failed at handshake [timeout]"));
    EXPECT_LT(took, std::chrono::seconds(5));
  }
  {
    HostileServer closes("", true);
    Proc r = probe("127.0.0.1:" + std::to_string(closes.port()) + " --timeout 2");
    EXPECT_EQ(r.code, 1) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("closed the connection during the TLS handshake"));
  }
  {
    HostileServer banner(std::string(200000, 'x'));
    Proc r = probe("127.0.0.1:" + std::to_string(banner.port()) + " --starttls nats --timeout 2");
    EXPECT_EQ(r.code, 1) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("failed at starttls [other]"));
    EXPECT_THAT(r.err, HasSubstr("more than 64 KiB without ending its INFO line"));
  }
  {
    HostileServer plain("N");
    Proc r = probe("127.0.0.1:" + std::to_string(plain.port()) + " --starttls postgres --json");
    EXPECT_EQ(r.code, 1) << describe(r);
    json doc = json::parse(r.out);
    EXPECT_EQ(doc["failure"]["step"], "starttls");
    EXPECT_EQ(doc["starttls"]["facts"]["reply"], "N");
  }
}

}  // namespace
}  // namespace tlsgate::e2e
