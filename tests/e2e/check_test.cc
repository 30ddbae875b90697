// `tlsgate check -c FILE`: the README tour is clean; each classic mistake, in
// its own fixture, is found, named (key and file) and exits 1; a config that
// cannot be read or validated (a key, or a value the loader or OpenSSL
// rejects) exits 2, as `serve` does with the same messages. Plus --json and
// --explain.
#include <algorithm>
#include <cstring>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e_helpers.h"
#include "pki/certificate_info.h"
#include "pki/crl_issuer.h"
#include "pki/encode.h"
#include "pki/issuer.h"
#include "pki/loader.h"
#include "pki/private_key_loader.h"
#include "support/test_pki.h"
#include "util/atomic_file.h"

namespace tlsgate::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr const char* kTourConf =
    "ssl.policy.bolt.enabled=true\n"
    "ssl.policy.bolt.client_auth=REQUIRE\n";

class Check : public E2eTest {
 protected:
  // The README's quick tour, verbatim.
  void tour() {
    tg_ok("cert ca --out ca --name 'Example CA'");
    tg_ok("cert issue --ca ca --out server db1.example.com localhost 127.0.0.1");
    tg_ok("cert issue --ca ca --out app --client app1@example.com");
    tg_ok(
        "cert install --scope bolt --cert server/public.crt --key server/private.key --ca "
        "ca/ca.crt");
    conf(kTourConf);
  }

  void conf(const std::string& text) { test::write_text(path("tlsgate.conf"), text, 0644); }

  Proc check(const std::string& extra = "") const { return tg("check -c tlsgate.conf" + extra); }

  // serve on the same file, bounded: the configs given to it here are refused
  // before any listener opens (as root, which the test machines may be, serve
  // needs --allow-root to get that far).
  Proc serve() const {
    return shell("timeout 60 " + shell_quote(tlsgate_bin()) +
                 " serve -c tlsgate.conf --allow-root");
  }

  // A connector for serve, on a port nothing listens on (never bound).
  static std::string bolt_connector() {
    return "connector.bolt.listen_address=127.0.0.1:" + std::to_string(free_loopback_port()) +
           "\nconnector.bolt.upstream_address=127.0.0.1:" + std::to_string(free_loopback_port()) +
           "\nconnector.bolt.max_connections=100\n";
  }

  static constexpr const char* kServeRefused =
      "tlsgate: error: tlsgate.conf: the configuration has errors; nothing was started\n";

  fs::path bolt(const std::string& rel = "") const {
    return rel.empty() ? path("certificates/bolt") : path("certificates/bolt/" + rel);
  }
  std::string bolt_s(const std::string& rel = "") const { return bolt(rel).string(); }

  // Policy material minted in-process: leaf (for names, in validity) from a test CA.
  void mint_bolt(const std::vector<std::string>& names, test::Validity validity) {
    auto ca = test::make_test_ca("Example CA");
    auto leaf = test::make_leaf(ca, names, true, false, validity);
    fs::create_directories(bolt("trusted"));
    fs::create_directories(bolt("revoked"));
    test::write_cert(bolt("trusted/ca.crt"), ca.ca.cert.get());
    test::write_cert(bolt("public.crt"), leaf.cert.get());
    test::write_key(bolt("private.key"), leaf.key.get());
    conf(kTourConf);
  }

  // Replaces the 0400 key laid out by `cert install` with `from` at mode 0600.
  void replace_key(const fs::path& from) {
    fs::remove(bolt("private.key"));
    fs::copy_file(from, bolt("private.key"));
    fs::permissions(bolt("private.key"), fs::perms::owner_read | fs::perms::owner_write);
  }

  // "2027-12-24 12:44:50 UTC", as openssl reads the certificate's notAfter/notBefore.
  std::string openssl_date(const fs::path& cert, const std::string& which) const {
    std::string s =
        trim(shell("openssl x509 -noout -dateopt iso_8601 -" + which + " -in " + q(cert)).out);
    s = s.substr(s.find('=') + 1);
    if (!s.empty() && s.back() == 'Z') s.pop_back();
    return s + " UTC";
  }

  static std::string summary(const std::string& policies, int problems, int warnings) {
    auto n = [](int k, const char* one, const char* many) {
      return std::to_string(k) + " " + (k == 1 ? one : many);
    };
    return "tlsgate.conf: " + policies + " checked: " + n(problems, "problem", "problems") + ", " +
           n(warnings, "warning", "warnings");
  }
};

TEST_F(Check, ReadmeTourIsClean) {
  tour();
  Proc r = check();
  EXPECT_EQ(r.code, 0) << describe(r);
  EXPECT_EQ(r.out, summary("1 policy (bolt)", 0, 0) + "\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(Check, DefaultConfigFileIsTlsgateConfInTheCurrentFolder) {
  tour();
  Proc r = tg("check");
  EXPECT_EQ(r.code, 0) << describe(r);
  EXPECT_EQ(r.out, summary("1 policy (bolt)", 0, 0) + "\n");
}

TEST_F(Check, PrivateKeyReadableByOthers) {
  tour();
  fs::permissions(bolt("private.key"), fs::perms::owner_read | fs::perms::owner_write |
                                           fs::perms::group_read | fs::perms::others_read);
  ASSERT_EQ(mode_of(bolt("private.key")), 0644U);
  Proc r = check();
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(r.out, "tlsgate.conf: ssl.policy.bolt.private_key: " + bolt_s("private.key") +
                       " has mode 0644: other users can read the private key; run chmod 600 " +
                       bolt_s("private.key") + "\n" + summary("1 policy (bolt)", 1, 0) + "\n");
}

TEST_F(Check, PrivateKeyNotMatchingTheCertificate) {
  tour();
  replace_key(path("app/private.key"));
  Proc r = check();
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(r.out,
            "tlsgate.conf: ssl.policy.bolt.private_key: " + bolt_s("private.key") +
                " does not match the certificate in " + bolt_s("public.crt") +
                " (CN=db1.example.com,O=tlsgate); use the key the certificate was issued for, "
                "or reissue the certificate\n" +
                summary("1 policy (bolt)", 1, 0) + "\n");
}

TEST_F(Check, ExpiredCertificate) {
  auto now = std::chrono::system_clock::now();
  mint_bolt({"localhost"}, {now - 30 * 24h, now - 2 * 24h});
  Proc r = check();
  EXPECT_EQ(r.code, 1) << describe(r);
  std::string expected =
      "tlsgate.conf: ssl.policy.bolt.public_certificate: certificate CN=localhost,O=tlsgate "
      "(serial " +
      openssl_serial(dir_, bolt("public.crt")) + ") in " + bolt_s("public.crt") + " expired on " +
      openssl_date(bolt("public.crt"), "enddate") +
      "; issue a new certificate (tlsgate cert issue) and replace the file";
  auto ls = lines(r.out);
  EXPECT_THAT(ls, testing::Contains(expected)) << r.out;
  EXPECT_EQ(ls.back(), summary("1 policy (bolt)", 1, 1)) << r.out;
  // The other finding is the chain check, a warning for bolt.
  EXPECT_THAT(
      r.out, HasSubstr("warning: tlsgate.conf: ssl.policy.bolt.public_certificate: own certificate "
                       "does not verify against " +
                       bolt_s("trusted")));
}

TEST_F(Check, CertificateExpiringWithinThirtyDaysIsOnlyAWarning) {
  auto now = std::chrono::system_clock::now();
  mint_bolt({"localhost"}, {now - 1h, now + 10 * 24h + 1h});
  Proc r = check();
  EXPECT_EQ(r.code, 0) << describe(r);
  EXPECT_EQ(r.out,
            "warning: tlsgate.conf: ssl.policy.bolt.public_certificate: certificate "
            "CN=localhost,O=tlsgate (serial " +
                openssl_serial(dir_, bolt("public.crt")) + ") in " + bolt_s("public.crt") +
                " expires in 10 days, on " + openssl_date(bolt("public.crt"), "enddate") +
                "; renew it before then; tlsgate picks up the new files without a restart\n" +
                summary("1 policy (bolt)", 0, 1) + "\n");
}

TEST_F(Check, CertificateWithMoreThanThirtyDaysLeftIsClean) {
  auto now = std::chrono::system_clock::now();
  mint_bolt({"localhost"}, {now - 1h, now + 31 * 24h});
  Proc r = check();
  EXPECT_EQ(r.code, 0) << describe(r);
  EXPECT_EQ(r.out, summary("1 policy (bolt)", 0, 0) + "\n");
}

TEST_F(Check, ClusterChainNotVerifyingAgainstTrusted) {
  tg_ok("cert ca --out ca --name 'Example CA'");
  tg_ok("cert ca --out other-ca --name 'Other CA'");
  tg_ok("cert issue --ca ca --out node --server --client node1.example.com");
  tg_ok(
      "cert install --scope cluster --cert node/public.crt --key node/private.key --ca ca/ca.crt");
  conf("ssl.policy.cluster.enabled=true\n");
  ASSERT_EQ(check().code, 0) << describe(check());
  // trusted/ now holds another CA only.
  fs::remove(path("certificates/cluster/trusted/ca.crt"));
  fs::copy_file(path("other-ca/ca.crt"), path("certificates/cluster/trusted/other.crt"));
  Proc r = check();
  EXPECT_EQ(r.code, 1) << describe(r);
  std::string trusted = path("certificates/cluster/trusted").string();
  EXPECT_EQ(r.out,
            "tlsgate.conf: ssl.policy.cluster.public_certificate: own certificate does not verify "
            "against " +
                trusted + ": certificate CN=node1.example.com,O=tlsgate (serial " +
                openssl_serial(dir_, "node/public.crt") +
                "): unable to get local issuer certificate (issuer CN=Example CA,O=tlsgate); put "
                "the issuer's "
                "certificate into the trusted folder; put the CA that issued " +
                path("certificates/cluster/public.crt").string() + " into " + trusted + "\n" +
                summary("1 policy (cluster)", 1, 0) + "\n");
  // openssl agrees.
  EXPECT_NE(shell("openssl verify -CAfile certificates/cluster/trusted/other.crt "
                  "certificates/cluster/public.crt")
                .code,
            0);
}

TEST_F(Check, BoltChainFromAnotherCaIsOnlyAWarning) {
  tour();
  tg_ok("cert ca --out other-ca --name 'Other CA'");
  fs::remove(bolt("trusted/ca.crt"));
  fs::copy_file(path("other-ca/ca.crt"), bolt("trusted/other.crt"));
  Proc r = check();
  EXPECT_EQ(r.code, 0) << describe(r);
  EXPECT_THAT(
      r.out,
      HasSubstr("warning: tlsgate.conf: ssl.policy.bolt.public_certificate: own certificate does "
                "not verify against " +
                bolt_s("trusted")));
  EXPECT_THAT(r.out, HasSubstr(" if peers are to trust the same CA\n"));
  EXPECT_EQ(lines(r.out).back(), summary("1 policy (bolt)", 0, 1));
}

TEST_F(Check, MissingTrustedFolder) {
  tour();
  fs::remove_all(bolt("trusted"));
  Proc r = check();
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(r.out,
            "tlsgate.conf: ssl.policy.bolt.trusted_dir: folder " + bolt_s("trusted") +
                " does not exist; create it and put the CA certificates that issue your peers' "
                "certificates into it\n" +
                summary("1 policy (bolt)", 1, 0) + "\n");
}

TEST_F(Check, EmptyTrustedFolderWithRequiredClientAuth) {
  tour();
  fs::remove(bolt("trusted/ca.crt"));
  Proc r = check();
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(r.out,
            "tlsgate.conf: ssl.policy.bolt.trusted_dir: folder " + bolt_s("trusted") +
                " is empty: with client_auth=REQUIRE every client will be refused; put the CA "
                "certificate that issues your peers' certificates into it\n" +
                summary("1 policy (bolt)", 1, 0) + "\n");
}

TEST_F(Check, MissingRevokedFolder) {
  tour();
  fs::remove_all(bolt("revoked"));
  Proc r = check();
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(r.out, "tlsgate.conf: ssl.policy.bolt.revoked_dir: folder " + bolt_s("revoked") +
                       " does not exist; create it (mkdir -m 755 " + bolt_s("revoked") +
                       "), even if it stays empty\n" + summary("1 policy (bolt)", 1, 0) + "\n");
}

TEST_F(Check, MissingBaseDirectory) {
  conf(kTourConf);
  Proc r = check();
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(
      r.out,
      "tlsgate.conf: ssl.policy.bolt.base_directory: folder " + bolt_s() +
          " does not exist; create it with `tlsgate cert install --scope bolt --cert C --key K "
          "--base DIR`, or set ssl.policy.bolt.base_directory\n" +
          summary("1 policy (bolt)", 1, 0) + "\n");
}

TEST_F(Check, ListenAddressNotCoveredBySans) {
  tg_ok("cert ca --out ca --name 'Example CA'");
  tg_ok("cert issue --ca ca --out server localhost");
  tg_ok(
      "cert install --scope bolt --cert server/public.crt --key server/private.key --ca ca/ca.crt");
  const std::string port = std::to_string(free_loopback_port());
  conf(std::string(kTourConf) + "connector.db.listen_address=127.0.0.2:" + port +
       "\n"
       "connector.db.upstream_address=127.0.0.1:5432\n"
       "connector.db.max_connections=1000\n"
       "connector.db.ssl_policy=bolt\n");
  Proc r = check();
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(r.out,
            "tlsgate.conf: ssl.policy.bolt.public_certificate: certificate CN=localhost,O=tlsgate "
            "does not "
            "name 127.0.0.2, the host of connector.db.listen_address (it names DNS:localhost); "
            "reissue it "
            "with that name too (tlsgate cert issue ... 127.0.0.2)\n" +
                summary("1 policy (bolt)", 1, 0) + "\n");

  // Reissued with that name too, it is clean.
  tg_ok("cert issue --ca ca --out server --reuse-key localhost 127.0.0.2");
  tg_ok(
      "cert install --scope bolt --cert server/public.crt --key server/private.key --ca ca/ca.crt");
  Proc fixed = check();
  EXPECT_EQ(fixed.code, 0) << describe(fixed);
  EXPECT_EQ(fixed.out, summary("1 policy (bolt)", 0, 0) + "\n");
}

// serve raises its soft descriptor limit to the hard one; check says when
// even that cannot hold every connector's max_connections.
TEST_F(Check, DescriptorLimitBelowMaxConnectionsWarns) {
  tour();
  conf(std::string(kTourConf) +
       "connector.db.listen_address=0.0.0.0:7687\n"
       "connector.db.upstream_address=127.0.0.1:7688\n"
       "connector.db.ssl_policy=bolt\n"
       "connector.db.max_connections=500\n"
       "server.worker_threads=2\n");
  Proc r = shell("prlimit --nofile=256:256 " + test::q(tlsgate_bin()) + " check -c tlsgate.conf");
  EXPECT_EQ(r.code, 0) << describe(r);
  // At the line of the largest max_connections, the one to lower.
  const auto line = std::count(kTourConf, kTourConf + std::strlen(kTourConf), '\n') + 4;
  EXPECT_EQ(
      r.out,
      "warning: tlsgate.conf:" + std::to_string(line) +
          ": connector.db.max_connections: file descriptors: "
          "connector.db.max_connections=500 may need "
          "1042 (2 per connection, and 42 for the gate itself: 5 on each of its 2 worker "
          "thread(s) (server.worker_threads) and 32 more), but the limit (RLIMIT_NOFILE) is "
          "256; clients beyond it are refused. Raise LimitNOFILE (systemd) / ulimit -n to 1042 "
          "or lower connector.db.max_connections\n" +
          summary("1 policy (bolt)", 0, 1) + "\n");
  Proc fits = check();
  EXPECT_EQ(fits.code, 0) << describe(fits);
  EXPECT_EQ(fits.out.find("file descriptors"), std::string::npos) << fits.out;
}

TEST_F(Check, AnyAddressNeedsNoName) {
  tour();
  conf(std::string(kTourConf) +
       "connector.db.listen_address=0.0.0.0:7687\n"
       "connector.db.upstream_address=127.0.0.1:7688\n"
       "connector.db.max_connections=1000\n"
       "connector.db.ssl_policy=bolt\n");
  Proc r = check();
  EXPECT_EQ(r.code, 0) << describe(r);
}

class CheckCrl : public Check {
 protected:
  void SetUp() override {
    Check::SetUp();
    if (HasFatalFailure()) return;
    tour();
    auto certs = pki::load_certificates(path("ca/ca.crt"));
    ASSERT_TRUE(certs) << certs.error().message();
    ca_cert_ = std::move(certs->front());
    auto key = pki::load_private_key(path("ca/ca.key"), std::nullopt);
    ASSERT_TRUE(key) << key.error().message();
    ca_key_ = std::move(*key);
    auto leaf = pki::load_certificates(path("server/public.crt"));
    ASSERT_TRUE(leaf) << leaf.error().message();
    server_ = std::move(leaf->front());
  }

  void write_crl(const std::vector<const X509*>& revoked,
                 std::optional<util::SystemTime> this_update,
                 std::optional<util::SystemTime> next_update) {
    auto crl = pki::create_crl(ca_cert_.get(), ca_key_.get(), revoked,
                               util::SystemClock::instance(), this_update, next_update);
    ASSERT_TRUE(crl) << crl.error().message();
    auto pem = pki::crl_pem(crl->get());
    ASSERT_TRUE(pem) << pem.error().message();
    ASSERT_TRUE(util::write_file_atomic(bolt("revoked/ca.crl"), *pem, 0644));
  }

  pki::X509Ptr ca_cert_;
  pki::EvpPkeyPtr ca_key_;
  pki::X509Ptr server_;
};

TEST_F(CheckCrl, FreshCrlIsClean) {
  write_crl({}, std::nullopt, std::nullopt);
  // openssl accepts it as the CA's.
  Proc v = shell("openssl crl -in certificates/bolt/revoked/ca.crl -CAfile ca/ca.crt -noout");
  EXPECT_THAT(v.out + v.err, HasSubstr("verify OK"));
  Proc r = check();
  EXPECT_EQ(r.code, 0) << describe(r);
  EXPECT_EQ(r.out, summary("1 policy (bolt)", 0, 0) + "\n");
}

TEST_F(CheckCrl, StaleCrl) {
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  write_crl({}, now - 8 * 24h, now - 24h);
  Proc r = check();
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(r.out, "tlsgate.conf: ssl.policy.bolt.revoked_dir: CRL " + bolt_s("revoked/ca.crl") +
                       " from CN=Example CA,O=tlsgate is stale: its nextUpdate " +
                       pki::format_time(now - 24h) +
                       " has passed; ssl.policy.bolt.stale_crl: WARN still uses it (the "
                       "certificates it lists stay refused), but certificates revoked since get "
                       "in; fetch a fresh CRL from the CA and replace the file; tlsgate reloads "
                       "it\n" +
                       summary("1 policy (bolt)", 1, 0) + "\n");
  // Under REJECT, check says that peers of that CA are refused.
  conf(std::string(kTourConf) + "ssl.policy.bolt.stale_crl=REJECT\n");
  Proc reject = check();
  EXPECT_EQ(reject.code, 1) << describe(reject);
  EXPECT_THAT(reject.out, HasSubstr("has passed; ssl.policy.bolt.stale_crl: REJECT refuses every "
                                    "peer with a certificate from that CA; fetch a fresh CRL"));
  // openssl agrees the CRL has expired.
  Proc o = shell(
      "openssl verify -crl_check -CAfile ca/ca.crt -CRLfile certificates/bolt/revoked/ca.crl "
      "server/public.crt");
  EXPECT_NE(o.code, 0);
  EXPECT_THAT(o.out + o.err, HasSubstr("CRL has expired"));
}

TEST_F(CheckCrl, OwnCertificateRevoked) {
  write_crl({server_.get()}, std::nullopt, std::nullopt);
  Proc r = check();
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(
      r.out,
      "tlsgate.conf: ssl.policy.bolt.public_certificate: certificate CN=db1.example.com,O=tlsgate "
      "is revoked by " +
          bolt_s("revoked/ca.crl") + "; issue a new certificate and replace " +
          bolt_s("public.crt") + "\n" + summary("1 policy (bolt)", 1, 0) + "\n");
}

TEST_F(CheckCrl, CrlFromAForeignCaIsAWarning) {
  tg_ok("cert ca --out other-ca --name 'Other CA'");
  auto certs = pki::load_certificates(path("other-ca/ca.crt"));
  ASSERT_TRUE(certs);
  ca_cert_ = std::move(certs->front());
  auto key = pki::load_private_key(path("other-ca/ca.key"), std::nullopt);
  ASSERT_TRUE(key);
  ca_key_ = std::move(*key);
  write_crl({}, std::nullopt, std::nullopt);
  Proc r = check();
  EXPECT_EQ(r.code, 0) << describe(r);
  EXPECT_EQ(r.out,
            "warning: tlsgate.conf: ssl.policy.bolt.revoked_dir: CRL " + bolt_s("revoked/ca.crl") +
                " is from CN=Other CA,O=tlsgate, which is not in " + bolt_s("trusted") +
                "; it cannot be checked; add that CA to the trusted folder, or remove the CRL\n" +
                summary("1 policy (bolt)", 0, 1) + "\n");
}

TEST_F(Check, UserMapWithoutADatabaseUserAndWithoutClientCertificates) {
  tour();
  test::write_text(path("users.map"), "app1 app1\nlonely\n", 0644);
  conf(std::string(kTourConf) +
       "connector.pg.listen_address=127.0.0.1:15432\n"
       "connector.pg.max_connections=1000\n"
       "connector.pg.upstream_address=127.0.0.1:5432\n"
       "connector.pg.protocol=postgres\n"
       "connector.pg.ssl_policy=bolt\n"
       "connector.pg.user_map=users.map\n");
  Proc r = check();
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.out,
              HasSubstr("tlsgate.conf:8: connector.pg.user_map: " + path("users.map").string() +
                        ":2: \"lonely\" has no database user; write IDENTITY DBUSER (DBUSER "
                        "* for any user)\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("every login is refused")));

  conf(std::string("ssl.policy.bolt.enabled=true\nssl.policy.bolt.client_auth=NONE\n") +
       "connector.pg.listen_address=127.0.0.1:15432\n"
       "connector.pg.max_connections=1000\n"
       "connector.pg.upstream_address=127.0.0.1:5432\n"
       "connector.pg.protocol=postgres\n"
       "connector.pg.ssl_policy=bolt\n"
       "connector.pg.user_map=users.map\n");
  r = check();
  EXPECT_THAT(r.out,
              HasSubstr("connector.pg.user_map: clients of this connector present no "
                        "certificate, so every login is refused; set "
                        "ssl.policy.bolt.client_auth=REQUIRE or remove connector.pg.user_map"));
}

TEST_F(Check, CipherNameOpensslRejects) {
  tour();
  conf(std::string(kTourConf) + "ssl.policy.bolt.ciphers=TLS_AES_128_GCM_SHA256,BOGUS-SHA\n");
  Proc r = check();
  EXPECT_EQ(r.code, 2) << describe(r);  // the config, not the material, is at fault
  EXPECT_EQ(
      r.out,
      "tlsgate.conf:3: ssl.policy.bolt.ciphers: OpenSSL rejects \"BOGUS-SHA\"; use IANA or OpenSSL "
      "suite names (`openssl ciphers -s -v` lists them)\n" +
          summary("1 policy (bolt)", 1, 0) + "\n");
  // The oracle: openssl knows no such suite either.
  EXPECT_NE(shell("openssl ciphers BOGUS-SHA").code, 0);
}

// A value only OpenSSL can judge is a config error all the same: check and
// serve both exit 2 (DESIGN.md: bad config) and name it by FILE:LINE and key,
// in the same words; serve opens nothing.
TEST_F(Check, ServeRefusesAValueOpensslRejectsAsCheckDoes) {
  tour();
  conf(std::string(kTourConf) + "ssl.policy.bolt.ciphers=NOT-A-CIPHER\n" +
       "ssl.policy.bolt.groups=X25519,NOT-A-GROUP\n" + bolt_connector());
  const std::string cipher =
      "tlsgate.conf:3: ssl.policy.bolt.ciphers: OpenSSL rejects \"NOT-A-CIPHER\"; use IANA or "
      "OpenSSL suite names (`openssl ciphers -s -v` lists them)\n";
  Proc c = check();
  EXPECT_EQ(c.code, 2) << describe(c);
  EXPECT_THAT(c.out, HasSubstr(cipher));
  EXPECT_THAT(c.out, HasSubstr("tlsgate.conf:4: ssl.policy.bolt.groups: "));
  Proc s = serve();
  EXPECT_EQ(s.code, 2) << describe(s);
  // Every line check printed for the values, then the refusal.
  const auto groups_line = c.out.substr(c.out.find("tlsgate.conf:4: "));
  EXPECT_EQ(s.err, cipher + groups_line.substr(0, groups_line.find('\n') + 1) + kServeRefused);
  EXPECT_EQ(s.out, "");
}

TEST_F(Check, ServeRefusesAMalformedPinAsCheckDoes) {
  tour();
  conf(std::string(kTourConf) + bolt_connector() + "ssl.policy.bolt.pinned_certs=sha256:beef\n");
  Proc c = check();
  EXPECT_EQ(c.code, 2) << describe(c);
  EXPECT_THAT(c.out, HasSubstr("tlsgate.conf:6: ssl.policy.bolt.pinned_certs: "));
  Proc s = serve();
  EXPECT_EQ(s.code, 2) << describe(s);
  EXPECT_EQ(s.err, c.out.substr(0, c.out.find('\n') + 1) + kServeRefused);
}

// trust_all skips the pins as it skips the chain (DESIGN.md): pins beside it
// protect nothing, so check and serve refuse the pair, in the same words.
TEST_F(Check, PinsBesideTrustAllAreRefusedByCheckAndServe) {
  tour();
  const auto pin = openssl_pin(dir_, path("app/public.crt")).first;
  conf(std::string(kTourConf) + "ssl.policy.bolt.trust_all=true\n" +
       "ssl.policy.bolt.pinned_certs=" + pin + "\n" + bolt_connector());
  const std::string trust_all =
      "warning: tlsgate.conf:3: ssl.policy.bolt.trust_all: trust_all is on: every peer is "
      "trusted without verification; use it only for debugging\n";
  const std::string pins =
      "tlsgate.conf:4: ssl.policy.bolt.pinned_certs: is not checked: "
      "ssl.policy.bolt.trust_all=true accepts any certificate a peer presents, without checking "
      "its chain or its pin; remove ssl.policy.bolt.trust_all to have the pins checked (on top "
      "of chain verification), or remove ssl.policy.bolt.pinned_certs\n";
  Proc c = check();
  EXPECT_EQ(c.code, 2) << describe(c);
  EXPECT_EQ(c.out, trust_all + pins +
                       "tlsgate.conf: 1 error in the configuration; certificates were not "
                       "checked\n");
  Proc s = serve();
  EXPECT_EQ(s.code, 2) << describe(s);
  EXPECT_EQ(s.err, trust_all + pins + kServeRefused);
  // Without trust_all the same pins apply, on top of the chain: clean.
  conf(std::string(kTourConf) + "ssl.policy.bolt.pinned_certs=" + pin + "\n");
  Proc pinned = check();
  EXPECT_EQ(pinned.code, 0) << describe(pinned);
}

// A scope name outside ASCII letters, digits, '_' and '-' is named as the
// fault, its character escaped, and not "corrected" into another key.
TEST_F(Check, ScopeNameWithANonAsciiLetterIsNamedNotReplaced) {
  conf("ssl.policy.p\xc3\xb3licy.enabled=true\n");
  const std::string problem =
      "the scope name \"p\xc3\xb3licy\" holds U+00F3 \"\xc3\xb3\" (bytes \\xc3\\xb3); a scope "
      "name may hold only ASCII letters, digits, '_' and '-'; rename the scope";
  const std::string line = "tlsgate.conf:1: ssl.policy.p\xc3\xb3licy.enabled: " + problem + "\n";
  Proc c = check();
  EXPECT_EQ(c.code, 2) << describe(c);
  EXPECT_EQ(c.out,
            line + "tlsgate.conf: 1 error in the configuration; certificates were not checked\n");
  EXPECT_THAT(c.out, Not(HasSubstr("did you mean")));
  Proc s = serve();
  EXPECT_EQ(s.code, 2) << describe(s);
  EXPECT_EQ(s.err, line + kServeRefused);
  Proc e = tg("check --explain ssl.policy.p\xc3\xb3licy.enabled");
  EXPECT_EQ(e.code, 2) << describe(e);
  EXPECT_EQ(e.err,
            "tlsgate: error: unknown key ssl.policy.p\xc3\xb3licy.enabled: " + problem + "\n");
}

TEST_F(Check, CipherFromTheEnvironmentIsNamedByItsVariable) {
  tour();
  Proc env = sh(dir_, "TLSGATE_ssl_policy_bolt_ciphers=BOGUS-SHA " + shell_quote(tlsgate_bin()) +
                          " check -c tlsgate.conf");
  EXPECT_EQ(env.code, 2) << describe(env);
  EXPECT_THAT(env.out,
              HasSubstr("environment TLSGATE_ssl_policy_bolt_ciphers: ssl.policy.bolt.ciphers: "
                        "OpenSSL rejects \"BOGUS-SHA\""));
}

TEST_F(Check, ValidCipherListsAreClean) {
  tour();
  conf(std::string(kTourConf) +
       "ssl.policy.bolt.ciphers=TLS_AES_256_GCM_SHA384,ECDHE-ECDSA-AES128-GCM-SHA256,"
       "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\n");
  Proc r = check();
  EXPECT_EQ(r.code, 0) << describe(r);
}

TEST_F(Check, UnknownConfigKeyIsAConfigErrorWithASuggestion) {
  tour();
  conf("ssl.policy.bolt.enabled=true\nssl.policy.bolt.client_auht=REQUIRE\n");
  Proc r = check();
  EXPECT_EQ(r.code, 2) << describe(r);
  EXPECT_EQ(r.out,
            "tlsgate.conf:2: ssl.policy.bolt.client_auht: unknown key; did you mean "
            "ssl.policy.bolt.client_auth?\n"
            "tlsgate.conf: 1 error in the configuration; certificates were not checked\n");
  EXPECT_THAT(r.out, HasSubstr("did you mean"));
}

TEST_F(Check, BadValueIsAConfigError) {
  tour();
  conf("ssl.policy.bolt.enabled=true\nssl.policy.bolt.client_auth=ALWAYS\n");
  Proc r = check();
  EXPECT_EQ(r.code, 2) << describe(r);
  EXPECT_THAT(r.out, HasSubstr("tlsgate.conf:2: ssl.policy.bolt.client_auth: "));
  EXPECT_THAT(r.out, HasSubstr("NONE, OPTIONAL, REQUIRE"));
}

// Review s22 §13: a config for serve (it enables the admin API) without any
// connector was called clean by check, and refused by serve.
TEST_F(Check, ServeConfigWithoutAConnectorIsAConfigErrorAsInServe) {
  tour();
  tg_ok(
      "cert install --scope admin --cert server/public.crt --key server/private.key --ca "
      "ca/ca.crt");
  conf(
      "admin.enabled=true\nadmin.listen_address=127.0.0.1:" + std::to_string(free_loopback_port()) +
      "\nssl.policy.admin.enabled=true\nssl.policy.admin.client_auth=REQUIRE\n"
      "admin.allowed_identities=ops\n");
  const std::string message =
      "tlsgate.conf: no connector.<name>.listen_address is set, so there is nothing to serve; "
      "add connector.NAME.listen_address and connector.NAME.upstream_address";
  Proc r = check();
  EXPECT_EQ(r.code, 2) << describe(r);
  EXPECT_THAT(lines(r.out), testing::Contains(message)) << r.out;
  Proc s = serve();
  EXPECT_EQ(s.code, 2) << describe(s);
  EXPECT_THAT(s.err, HasSubstr("tlsgate: error: " + message + "\n"));
  // A file of policies only is checked as such: the README's tour stays clean.
  conf(kTourConf);
  EXPECT_EQ(check().code, 0);
}

TEST_F(Check, MissingConfigFileIsAConfigError) {
  Proc r = tg("check -c nope.conf");
  EXPECT_EQ(r.code, 2) << describe(r);
  EXPECT_EQ(r.out,
            "nope.conf: no such file; give the config file's path with -c/--config\n"
            "nope.conf: 1 error in the configuration; certificates were not checked\n");
}

TEST_F(Check, JsonCountsErrorsAndWarnings) {
  tour();
  fs::permissions(bolt("private.key"),
                  fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  conf(std::string(kTourConf) + "ssl.policy.bolt.ciphers=BOGUS-SHA,TLS_AES_128_GCM_SHA256\n");
  Proc r = check(" --json");
  EXPECT_EQ(r.code, 2) << describe(r);  // the cipher makes the config unusable
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(r.out)) << r.out;
  EXPECT_EQ(j["config"], "tlsgate.conf");
  EXPECT_EQ(j["valid_config"], false);
  EXPECT_EQ(j["policies"], nlohmann::json::array({"bolt"}));
  EXPECT_EQ(j["errors"], 2);
  EXPECT_EQ(j["warnings"], 0);
  ASSERT_EQ(j["findings"].size(), 2U);
  int errors = 0;
  for (const auto& f : j["findings"]) {
    errors += f["severity"] == "error" ? 1 : 0;
    EXPECT_EQ(f["file"], "tlsgate.conf");
    for (const char* field : {"line", "key", "problem", "fix", "message"})
      EXPECT_TRUE(f.contains(field)) << field;
  }
  EXPECT_EQ(errors, 2);
  const auto& cipher = j["findings"][0];
  EXPECT_EQ(cipher["key"], "ssl.policy.bolt.ciphers");
  EXPECT_EQ(cipher["line"], 3);
  EXPECT_EQ(cipher["message"],
            "tlsgate.conf:3: ssl.policy.bolt.ciphers: OpenSSL rejects \"BOGUS-SHA\"; use IANA or "
            "OpenSSL suite "
            "names (`openssl ciphers -s -v` lists them)");
  const auto& key = j["findings"][1];
  EXPECT_EQ(key["key"], "ssl.policy.bolt.private_key");
  EXPECT_EQ(key["line"], 0);
  EXPECT_EQ(key["problem"],
            bolt_s("private.key") + " has mode 0444: other users can read the private key");
  EXPECT_EQ(key["fix"], "run chmod 600 " + bolt_s("private.key"));
}

TEST_F(Check, JsonOfACleanAndOfAnUnusableConfig) {
  tour();
  Proc clean = check(" --json");
  EXPECT_EQ(clean.code, 0) << describe(clean);
  auto j = nlohmann::json::parse(clean.out);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["warnings"], 0);
  EXPECT_TRUE(j["findings"].empty());

  conf("ssl.policy.bolt.enabled=true\nssl.policy.bolt.client_auht=REQUIRE\n");
  Proc bad = check(" --json");
  EXPECT_EQ(bad.code, 2) << describe(bad);
  auto b = nlohmann::json::parse(bad.out);
  EXPECT_EQ(b["valid_config"], false);
  EXPECT_EQ(b["errors"], 1);
  EXPECT_EQ(b["findings"][0]["key"], "ssl.policy.bolt.client_auht");
  EXPECT_EQ(b["findings"][0]["line"], 2);
  EXPECT_EQ(b["findings"][0]["fix"], "did you mean ssl.policy.bolt.client_auth?");
}

TEST_F(Check, ExplainPrintsDocDefaultAndAllowedValues) {
  Proc r = tg("check --explain ssl.policy.bolt.client_auth");
  EXPECT_EQ(r.code, 0) << describe(r);
  EXPECT_EQ(
      r.out,
      "ssl.policy.<scope>.client_auth\n"
      "  key:      ssl.policy.bolt.client_auth\n"
      "  type:     enum\n"
      "  default:  OPTIONAL (scope bolt)\n"
      "  allowed:  NONE, OPTIONAL, REQUIRE\n"
      "  env:      TLSGATE_ssl_policy_bolt_client__auth\n"
      "  Whether clients present a certificate: NONE asks for none, OPTIONAL verifies one if sent, "
      "REQUIRE refuses a client without one.\n");
  Proc cluster = tg("check --explain ssl.policy.cluster.client_auth");
  EXPECT_EQ(cluster.code, 0) << describe(cluster);
  EXPECT_THAT(cluster.out, HasSubstr("  default:  REQUIRE (scope cluster)\n"));
}

TEST_F(Check, ExplainOfAnUnknownKeySuggestsTheNearest) {
  Proc r = tg("check --explain ssl.policy.bolt.client_auht");
  EXPECT_EQ(r.code, 2) << describe(r);
  EXPECT_EQ(r.err,
            "tlsgate: error: unknown key ssl.policy.bolt.client_auht; did you mean "
            "ssl.policy.bolt.client_auth?\n");
  EXPECT_EQ(r.out, "");
  // The last part alone names the keys it ends (new-user review s23, defect 14).
  Proc tail = tg("check --explain user_map");
  EXPECT_EQ(tail.code, 2) << describe(tail);
  EXPECT_EQ(tail.err,
            "tlsgate: error: unknown key user_map; give the whole key: "
            "connector.<name>.user_map (its name filled in)\n");
}

}  // namespace
}  // namespace tlsgate::e2e

namespace tlsgate::e2e {
namespace {

// The cluster's secret is read by check (etcd is not contacted): a loose or
// short secret file is an error naming the key and the fix.
TEST_F(Check, ClusterSecretFileIsChecked) {
  tour();
  conf(std::string(kTourConf) +
       "cluster.enabled=true\ncluster.node_name=a\ncluster.members=a;b\n"
       "cluster.etcd_endpoints=https://127.0.0.1:2379\ncluster.ssl_policy=bolt\n"
       "cluster.scopes=bolt\ncluster.secret_file=cluster.secret\n");
  test::write_text(path("cluster.secret"), std::string(32, 's'), 0644);
  Proc loose = check();
  EXPECT_EQ(loose.code, 1) << describe(loose);
  EXPECT_THAT(loose.out, HasSubstr("tlsgate.conf:9: cluster.secret_file: cluster.secret_file " +
                                   path("cluster.secret").string() +
                                   " can be read by other users (mode 0644); run: chmod 600"));
  test::write_text(path("cluster.secret"), std::string(32, 's'), 0600);
  Proc ok = check();
  EXPECT_EQ(ok.code, 0) << describe(ok);
  test::write_text(path("cluster.secret"), "short", 0600);
  EXPECT_THAT(check().out, HasSubstr("is 5 bytes, not 32"));
}

// An encrypted key without its password: check and serve name the config key that takes it, and
// no command-line option (neither has one).
TEST_F(Check, EncryptedKeyWithoutPasswordNamesTheConfigKey) {
  tour();
  test::write_text(path("pw"), "s3cret\n", 0600);
  ASSERT_TRUE(encrypt_key("server/private.key", "enc.key"));
  replace_key(path("enc.key"));
  const std::string problem = bolt_s("private.key") +
                              ": the private key is encrypted; set "
                              "ssl.policy.bolt.private_key_password";
  Proc r = check();
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.out, HasSubstr("tlsgate.conf: ssl.policy.bolt.private_key: " + problem + "\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("--password-file")));

  int port = free_loopback_port();
  conf(std::string(kTourConf) + "connector.bolt.listen_address=127.0.0.1:" + std::to_string(port) +
       "\nconnector.bolt.upstream_address=127.0.0.1:1\n");
  Proc serve = shell("timeout 30 " + q(tlsgate_bin()) + " serve -c tlsgate.conf --allow-root");
  EXPECT_EQ(serve.code, 2) << describe(serve);
  EXPECT_THAT(serve.err, HasSubstr(problem));
  EXPECT_THAT(serve.err, Not(HasSubstr("--password-file")));

  // With the password set, both are content.
  conf(std::string(kTourConf) + "ssl.policy.bolt.private_key_password=s3cret\n");
  Proc fixed = check();
  EXPECT_EQ(fixed.code, 0) << describe(fixed);
}

}  // namespace
}  // namespace tlsgate::e2e
