// `tlsgate cert revoke`: the index in the CA folder and the CRL, judged by
// `openssl crl -verify` and `openssl verify -crl_check`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e_helpers.h"

namespace tlsgate::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

class CertRevoke : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) return;
    tg_ok("cert ca --out ca --name 'Revoking CA'");
    tg_ok("cert issue --ca ca --out db1 db1.example.com");
    tg_ok("cert issue --ca ca --out db2 db2.example.com");
  }

  // `openssl verify -crl_check` of FILE against ca/ca.crt and ca/ca.crl: its output.
  Proc verify(const std::string& file) const {
    return shell("openssl verify -crl_check -CAfile ca/ca.crt -CRLfile ca/ca.crl " + q(file) +
                 " 2>&1");
  }
};

TEST_F(CertRevoke, ByCertificateRecordsTheIndexAndWritesAVerifiedCrl) {
  ASSERT_NE(verify("db1/public.crt").code, 0) << "no CRL yet: openssl cannot check";
  std::string serial = openssl_serial(dir_, "db1/public.crt");
  Proc r = tg_ok("cert revoke --ca ca db1/public.crt --reason keyCompromise");
  auto out = lines(r.out);
  ASSERT_EQ(out.size(), 2U) << r.out;
  EXPECT_THAT(out[0], MatchesRegex("revoked CN=db1.example.com,O=tlsgate \\(serial " + serial +
                                   "\\) at [0-9-]+T[0-9:]+Z, reason keyCompromise; recorded in "
                                   "ca/revocations.txt"));
  EXPECT_THAT(out[1], MatchesRegex("CRL: 1 revoked certificate, CRL number 1, next update .* UTC, "
                                   "written to ca/ca.crl"));
  EXPECT_EQ(mode_of(path("ca/revocations.txt")), 0644U);
  EXPECT_EQ(mode_of(path("ca/ca.crl")), 0644U);
  auto index = lines(read_file(path("ca/revocations.txt")));
  ASSERT_EQ(index.size(), 2U);
  EXPECT_EQ(index[0], "# tlsgate revocation index: serial\trevoked at\treason\tsubject");
  EXPECT_THAT(index[1], MatchesRegex(serial + "\t[0-9-]+T[0-9:]+Z\tkeyCompromise\t"
                                              "CN=db1.example.com,O=tlsgate"));

  Proc crl = shell("openssl crl -in ca/ca.crl -CAfile ca/ca.crt -noout -text 2>&1");
  ASSERT_EQ(crl.code, 0) << describe(crl);
  EXPECT_THAT(crl.out, HasSubstr("verify OK"));
  EXPECT_THAT(crl.out, HasSubstr("Key Compromise"));
  Proc revoked = verify("db1/public.crt");
  EXPECT_NE(revoked.code, 0);
  EXPECT_THAT(revoked.out, HasSubstr("certificate revoked"));
  EXPECT_EQ(verify("db2/public.crt").code, 0) << verify("db2/public.crt").out;
}

TEST_F(CertRevoke, BySerialAndTwice) {
  std::string serial = openssl_serial(dir_, "db2/public.crt");
  // Spelled as openssl prints it: upper case, with colons is fine too.
  std::string upper;
  for (char c : serial) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  Proc r = tg_ok("cert revoke --ca ca " + upper + " --reason superseded");
  EXPECT_THAT(r.out, HasSubstr("revoked serial " + serial + " at "));
  EXPECT_NE(verify("db2/public.crt").code, 0);
  EXPECT_EQ(verify("db1/public.crt").code, 0);
  EXPECT_THAT(read_file(path("ca/revocations.txt")), HasSubstr("\tsuperseded\t-\n"));

  // Again: nothing changes, and that is not an error.
  std::string before = read_file(path("ca/revocations.txt"));
  Proc again = tg("cert revoke --ca ca db2/public.crt --reason keyCompromise");
  EXPECT_EQ(again.code, 0) << describe(again);
  EXPECT_THAT(again.out,
              MatchesRegex("CN=db2.example.com,O=tlsgate \\(serial " + serial +
                           "\\) is already revoked since .*Z \\(reason superseded\\); nothing "
                           "changed in ca/revocations.txt\n"));
  EXPECT_EQ(read_file(path("ca/revocations.txt")), before);

  // A second certificate: both in the next CRL, with a higher number.
  Proc second = tg_ok("cert revoke --ca ca db1/public.crt");
  EXPECT_THAT(second.out, HasSubstr("CRL: 2 revoked certificates, CRL number 2,"));
  EXPECT_NE(verify("db1/public.crt").code, 0);
  EXPECT_NE(verify("db2/public.crt").code, 0);
  EXPECT_EQ(trim(read_file(path("ca/crlnumber"))), "2");
}

TEST_F(CertRevoke, BadInputIsRefusedWithTheFix) {
  Proc reason = tg("cert revoke --ca ca db1/public.crt --reason removeFromCRL");
  EXPECT_EQ(reason.code, 2);
  EXPECT_EQ(reason.err,
            "tlsgate: error: --reason: reason removeFromCRL only belongs in delta CRLs, which "
            "tlsgate does not issue; a revocation cannot be taken back (issue a new certificate "
            "instead)\n");
  Proc unknown = tg("cert revoke --ca ca db1/public.crt --reason stolen");
  EXPECT_EQ(unknown.code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown revocation reason \"stolen\"; use one of"));
  Proc neither = tg("cert revoke --ca ca nosuchfile.crt");
  EXPECT_EQ(neither.code, 2);
  EXPECT_EQ(neither.err,
            "tlsgate: error: \"nosuchfile.crt\" is neither a certificate file nor a serial number "
            "in hex; give the certificate (public.crt) or its serial as `tlsgate cert inspect` "
            "prints it\n");
  tg_ok("cert ca --out other --name 'Other CA'");
  Proc foreign = tg("cert revoke --ca other db1/public.crt");
  EXPECT_EQ(foreign.code, 1);
  EXPECT_EQ(foreign.err,
            "tlsgate: error: db1/public.crt: CN=db1.example.com,O=tlsgate was not issued by the "
            "CA in other (CN=Other CA,O=tlsgate); revoke it with the CA that issued it\n");
  EXPECT_FALSE(fs::exists(path("other/revocations.txt")));
  EXPECT_FALSE(fs::exists(path("ca/ca.crl")));
}

// RFC 5280 4.1.2.2: serials are at most 20 octets. A longer one typed on the command line is a
// typo or a fingerprint pasted in its place; recording it would revoke nothing.
TEST_F(CertRevoke, ASerialOfMoreThan20OctetsIsRefused) {
  const std::string limit =
      " octets long; RFC 5280 serial numbers are at most 20 octets (40 hex digits), so this is no "
      "conforming CA's serial: check the number (a SHA-256 fingerprint is 32 octets), or give the "
      "certificate file\n";
  // 40 digits with the top bit set: DER needs a 21st, leading zero octet.
  const std::string top_bit = "80" + std::string(38, '0');
  Proc r = tg("cert revoke --ca ca " + top_bit);
  EXPECT_EQ(r.code, 2) << describe(r);
  EXPECT_EQ(r.err, "tlsgate: error: \"" + top_bit + "\": serial " + top_bit + " is 21" + limit);
  const std::string digits41 = "0x1" + std::string(40, '0');
  Proc longer = tg("cert revoke --ca ca " + digits41);
  EXPECT_EQ(longer.code, 2) << describe(longer);
  EXPECT_EQ(longer.err, "tlsgate: error: \"" + digits41 + "\": serial " + digits41.substr(2) +
                            " is 21" + limit);
  Proc fp = shell("openssl x509 -in db1/public.crt -noout -fingerprint -sha256 | cut -d= -f2");
  ASSERT_EQ(fp.code, 0) << describe(fp);
  Proc fingerprint = tg("cert revoke --ca ca " + trim(fp.out));
  EXPECT_EQ(fingerprint.code, 2) << describe(fingerprint);
  EXPECT_THAT(fingerprint.err, HasSubstr(" octets long; RFC 5280 serial numbers are at most 20"));
  EXPECT_FALSE(fs::exists(path("ca/revocations.txt")));
  EXPECT_FALSE(fs::exists(path("ca/ca.crl")));
  // 20 octets is the limit, not beyond it.
  Proc twenty = tg_ok("cert revoke --ca ca 7f" + std::string(38, 'f'));
  EXPECT_THAT(twenty.out, HasSubstr("revoked serial 7f" + std::string(38, 'f') + " at "));
}

}  // namespace
}  // namespace tlsgate::e2e
