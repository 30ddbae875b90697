// `tlsgate cert verify` with chains: which certificate is the leaf, where its
// intermediates come from, and bundles in the wrong order. The intermediate
// CA and the certificates it issues are made by the openssl CLI, with
// `openssl verify -untrusted` as the oracle.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e_helpers.h"

namespace tlsgate::e2e {
namespace {

using ::testing::HasSubstr;

class CertVerifyChain : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) return;
    tg_ok("cert ca --out ca --name 'Root CA'");
    // An intermediate CA under the root, then a server certificate under it.
    openssl_issue("inter", "/O=Outside/CN=Issuing CA", "ca/ca.crt", "ca/ca.key",
                  "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n");
    if (HasFatalFailure()) return;
    openssl_issue("leaf", "/CN=app.example.com", "inter.crt", "inter.key",
                  "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                  "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:app.example.com\n");
  }

  // NAME.key and NAME.crt: a fresh P-256 key and a certificate for SUBJECT
  // signed by CA_CERT/CA_KEY with the extensions EXT (openssl -extfile lines).
  void openssl_issue(const std::string& name, const std::string& subject,
                     const std::string& ca_cert, const std::string& ca_key,
                     const std::string& ext) const {
    test::write_text(path(name + ".ext"), ext);
    Proc r = shell("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
                   q(name + ".key") + " -subj " + q(subject) + " -out " + q(name + ".csr") +
                   " 2>&1 && openssl x509 -req -in " + q(name + ".csr") + " -CA " + q(ca_cert) +
                   " -CAkey " + q(ca_key) + " -days 30 -extfile " + q(name + ".ext") + " -out " +
                   q(name + ".crt") + " 2>&1");
    ASSERT_EQ(r.code, 0) << describe(r);
  }
};

// The help's promise: leaf first, its chain after, also in files of their own.
TEST_F(CertVerifyChain, IntermediateInALaterFileBuildsTheChain) {
  ASSERT_EQ(shell("openssl verify -CAfile ca/ca.crt -untrusted inter.crt leaf.crt").code, 0);
  ASSERT_NE(shell("openssl verify -CAfile ca/ca.crt leaf.crt").code, 0);

  Proc r = tg("cert verify --ca ca/ca.crt leaf.crt inter.crt");
  EXPECT_EQ(r.code, 0) << describe(r);
  // One verdict, for the leaf; the intermediate is its chain, not a second subject.
  EXPECT_EQ(r.out, "leaf.crt: OK (CN=app.example.com)\n");
  EXPECT_EQ(r.err, "");
  // The chain counts for the leaf's purpose and name checks too.
  tg_ok("cert verify --ca ca/ca.crt --purpose server --host app.example.com leaf.crt inter.crt");

  // Without the intermediate the leaf cannot chain to the root.
  Proc alone = tg("cert verify --ca ca/ca.crt leaf.crt");
  EXPECT_EQ(alone.code, 1) << describe(alone);
  EXPECT_THAT(alone.out, HasSubstr("leaf.crt: FAILED: certificate CN=app.example.com (serial "));
  EXPECT_THAT(alone.out, HasSubstr("unable to get local issuer certificate (issuer CN=Issuing "
                                   "CA,O=Outside)"));
}

TEST_F(CertVerifyChain, LeafWithItsChainInOneFileVerifies) {
  ASSERT_EQ(shell("cat leaf.crt inter.crt > fullchain.pem").code, 0);
  ASSERT_EQ(shell("cat leaf.crt inter.crt ca/ca.crt > fullchain-root.pem").code, 0);
  ASSERT_EQ(shell("openssl verify -CAfile ca/ca.crt -untrusted inter.crt leaf.crt").code, 0);
  Proc r = tg("cert verify --ca ca/ca.crt --purpose server fullchain.pem fullchain-root.pem");
  EXPECT_EQ(r.code, 0) << describe(r);
  EXPECT_EQ(r.out,
            "fullchain.pem: OK (CN=app.example.com)\n"
            "fullchain-root.pem: OK (CN=app.example.com)\n");
  // Several leaves, each with its chain, are still verified each on its own,
  // and a chain split over a file of its own belongs to the leaf before it.
  tg_ok("cert issue --ca ca --out server db1.example.com");
  Proc mixed = tg("cert verify --ca ca/ca.crt server/public.crt leaf.crt inter.crt fullchain.pem");
  EXPECT_EQ(mixed.code, 0) << describe(mixed);
  EXPECT_EQ(mixed.out,
            "server/public.crt: OK (CN=db1.example.com,O=tlsgate)\n"
            "leaf.crt: OK (CN=app.example.com)\n"
            "fullchain.pem: OK (CN=app.example.com)\n");
}

TEST_F(CertVerifyChain, BundleWithTheCaFirstIsOutOfOrder) {
  ASSERT_EQ(shell("cat inter.crt leaf.crt > reversed.pem").code, 0);
  Proc r = tg("cert verify --ca ca/ca.crt reversed.pem");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(r.out,
            "reversed.pem: FAILED: out of order: certificate 1 (CN=Issuing CA,O=Outside) is a CA "
            "but certificate 2 (CN=app.example.com) is not; put the leaf first, then its chain\n");
  // The files after it are still verified, and a bad file fails the run.
  Proc more = tg("cert verify --ca ca/ca.crt leaf.crt inter.crt reversed.pem");
  EXPECT_EQ(more.code, 1) << describe(more);
  EXPECT_EQ(more.out,
            "leaf.crt: OK (CN=app.example.com)\n"
            "reversed.pem: FAILED: out of order: certificate 1 (CN=Issuing CA,O=Outside) is a CA "
            "but certificate 2 (CN=app.example.com) is not; put the leaf first, then its chain\n");

  // Two leaves in one file: the second would never be checked.
  ASSERT_EQ(shell("cat leaf.crt leaf.crt inter.crt > two-leaves.pem").code, 0);
  Proc two = tg("cert verify --ca ca/ca.crt two-leaves.pem");
  EXPECT_EQ(two.code, 1) << describe(two);
  EXPECT_EQ(two.out,
            "two-leaves.pem: FAILED: certificate 2 (CN=app.example.com) is not a CA, so it cannot "
            "be in the chain of certificate 1 (CN=app.example.com); give each leaf a file of its "
            "own\n");

  // A CA certificate on its own, or first with only CAs after it, is still the
  // subject: an intermediate is checked against the root.
  Proc ca = tg("cert verify --ca ca/ca.crt inter.crt");
  EXPECT_EQ(ca.code, 0) << describe(ca);
  EXPECT_EQ(ca.out, "inter.crt: OK (CN=Issuing CA,O=Outside)\n");
}

// The new-user report: a revoked client certificate behind its CA in one
// file was "OK (CN=Root CA)", since only the CA was verified.
TEST_F(CertVerifyChain, RevokedLeafBehindItsCaIsNotAccepted) {
  tg_ok("cert issue --ca ca --out cli --client client1");
  tg_ok("cert revoke --ca ca cli/public.crt");
  ASSERT_NE(
      shell("openssl verify -crl_check -CAfile ca/ca.crt -CRLfile ca/ca.crl cli/public.crt").code,
      0);
  ASSERT_EQ(shell("cat ca/ca.crt cli/public.crt > b.pem").code, 0);
  Proc r = tg("cert verify --ca ca/ca.crt --crl ca/ca.crl b.pem");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(r.out,
            "b.pem: FAILED: out of order: certificate 1 (CN=Root CA,O=tlsgate) is a CA but "
            "certificate 2 (CN=client1,O=tlsgate) is not; put the leaf first, then its chain\n");
  // In the right order the leaf is checked, and it is revoked.
  ASSERT_EQ(shell("cat cli/public.crt ca/ca.crt > fixed.pem").code, 0);
  Proc fixed = tg("cert verify --ca ca/ca.crt --crl ca/ca.crl fixed.pem");
  EXPECT_EQ(fixed.code, 1) << describe(fixed);
  EXPECT_EQ(fixed.out, "fixed.pem: FAILED: certificate CN=client1,O=tlsgate (serial " +
                           openssl_serial(dir_, "cli/public.crt") +
                           "): certificate revoked; issue a new certificate to replace it\n");
}

// The same with an expired leaf, issued in the past by `openssl ca`.
TEST_F(CertVerifyChain, ExpiredLeafBehindItsCaIsNotAccepted) {
  test::write_text(path("oca/index.txt"), "");
  test::write_text(path("oca/serial"), "1000\n");
  test::write_text(path("oca/ca.cnf"),
                   "[ ca ]\ndefault_ca = CA_default\n[ CA_default ]\ndatabase = oca/index.txt\n"
                   "new_certs_dir = oca\nserial = oca/serial\ndefault_md = sha256\n"
                   "policy = any\n[ any ]\ncommonName = supplied\n[ leaf ]\n"
                   "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n"
                   "extendedKeyUsage = serverAuth\n");
  Proc made = shell(
      "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout old.key "
      "-subj /CN=old.example.com -out old.csr 2>&1 && openssl ca -batch -config oca/ca.cnf "
      "-cert ca/ca.crt -keyfile ca/ca.key -in old.csr -startdate 20200101000000Z "
      "-enddate 20200201000000Z -extensions leaf -notext -out old.crt 2>&1");
  ASSERT_EQ(made.code, 0) << describe(made);
  ASSERT_NE(shell("openssl verify -CAfile ca/ca.crt old.crt").code, 0);

  ASSERT_EQ(shell("cat ca/ca.crt old.crt > old-bundle.pem").code, 0);
  Proc r = tg("cert verify --ca ca/ca.crt old-bundle.pem");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(r.out,
            "old-bundle.pem: FAILED: out of order: certificate 1 (CN=Root CA,O=tlsgate) is a CA "
            "but certificate 2 (CN=old.example.com) is not; put the leaf first, then its chain\n");
  ASSERT_EQ(shell("cat old.crt ca/ca.crt > old-fixed.pem").code, 0);
  Proc fixed = tg("cert verify --ca ca/ca.crt old-fixed.pem");
  EXPECT_EQ(fixed.code, 1) << describe(fixed);
  EXPECT_THAT(fixed.out, HasSubstr("old-fixed.pem: FAILED: certificate CN=old.example.com (serial "
                                   "1000): certificate has expired (notAfter 2020-02-01 00:00:00 "
                                   "UTC); renew it\n"));
}

}  // namespace
}  // namespace tlsgate::e2e
