// What a new-user review of the `cert` verbs found (2026-12-07): files
// replaced without --force, revocations lost when run at once, a CRL that a
// second `revoke` did not repair, CRLs signed by a leaf's key, names and
// dates of a certificate printed as the certificate chose them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "e2e_helpers.h"

namespace tlsgate::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CertRefusals : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) return;
    tg_ok("cert ca --out ca --name 'Refusing CA'");
    tg_ok("cert issue --ca ca --out srv db.example.com");
  }
  // Serial numbers the CRL in FILE lists, as openssl prints them (upper-case hex).
  int crl_entries(const std::string& file) const {
    Proc r = shell("openssl crl -in " + q(file) + " -noout -text | grep -c 'Serial Number'");
    return std::stoi(trim(r.out));
  }
};

TEST_F(CertRefusals, NoVerbReplacesAFileWithoutForce) {
  tg_ok("cert csr --out req app.example.com");
  const std::string ca_key = read_file(path("ca/ca.key"));
  const std::string key = read_file(path("srv/private.key"));

  Proc sign = tg("cert sign --ca ca --out ca/ca.key req/request.csr");
  EXPECT_EQ(sign.code, 1) << describe(sign);
  EXPECT_THAT(sign.err, HasSubstr("ca/ca.key exists (--out); pass --force to replace it"));
  EXPECT_EQ(read_file(path("ca/ca.key")), ca_key);

  Proc convert = tg("cert convert srv/public.crt srv/private.key");
  EXPECT_EQ(convert.code, 1) << describe(convert);
  EXPECT_THAT(convert.err, HasSubstr("srv/private.key exists (OUT)"));
  EXPECT_EQ(read_file(path("srv/private.key")), key);
  EXPECT_EQ(mode_of(path("srv/private.key")), 0600U);

  shell("echo secret > pw");
  tg_ok("cert pkcs12 --cert srv/public.crt --key srv/private.key --out srv.p12 --password-file pw");
  const std::string store = read_file(path("srv.p12"));
  Proc again = tg(
      "cert pkcs12 --cert srv/public.crt --key srv/private.key --out srv.p12 --password-file pw");
  EXPECT_EQ(again.code, 1) << describe(again);
  EXPECT_EQ(read_file(path("srv.p12")), store);
  // Extracting into a folder that holds a key.
  tg_ok("cert issue --ca ca --out other other.example.com");
  const std::string other_key = read_file(path("other/private.key"));
  Proc extract = tg("cert pkcs12 --in srv.p12 --out other --password-file pw");
  EXPECT_EQ(extract.code, 1) << describe(extract);
  EXPECT_THAT(extract.err, HasSubstr("other/public.crt exists (--out)"));
  EXPECT_EQ(read_file(path("other/private.key")), other_key);

  // With --force each does what it was asked.
  tg_ok("cert sign --ca ca --out app.crt req/request.csr");
  tg_ok("cert sign --ca ca --out app.crt --force req/request.csr");
  tg_ok("cert convert srv/public.crt pub.der");
  tg_ok("cert convert srv/public.crt pub.der --force");
  tg_ok("cert pkcs12 --in srv.p12 --out other --password-file pw --force");
  EXPECT_EQ(read_file(path("other/private.key")), key);
}

TEST_F(CertRefusals, ConvertTakesOneKindOfObjectPerFile) {
  // A certificate with its key after it came out as the certificate alone.
  shell("cat srv/public.crt srv/private.key > combo.pem");
  Proc r = tg("cert convert combo.pem out.pem");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("combo.pem holds a CERTIFICATE block and a PRIVATE KEY block; "
                               "convert takes one kind of object"));
  EXPECT_FALSE(fs::exists(path("out.pem")));
  // A chain (certificates only) still converts to PEM.
  shell("cat srv/public.crt ca/ca.crt > chain.pem");
  tg_ok("cert convert chain.pem chain-out.pem");
}

TEST_F(CertRefusals, AKeyStoreNeedsAPasswordAndATrustStoreNoName) {
  shell(": > empty");
  Proc r =
      tg("cert pkcs12 --cert srv/public.crt --key srv/private.key --out srv.p12 --password-file "
         "empty");
  EXPECT_EQ(r.code, 2) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("the password for srv.p12 is empty (empty)"));
  EXPECT_FALSE(fs::exists(path("srv.p12")));

  shell("echo secret > pw");
  Proc named =
      tg("cert pkcs12 --truststore --ca ca/ca.crt --name mine --out t.p12 --password-file pw");
  EXPECT_EQ(named.code, 2) << describe(named);
  EXPECT_THAT(named.err, HasSubstr("--name names a key store's entry"));
}

TEST_F(CertRefusals, RevocationsRunAtOnceAllReachTheCrl) {
  // Ten at once, each on its own serial: without the folder's lock each
  // process wrote its own copy of the index over the others' (two of ten
  // were left).
  Proc r = shell("for i in 1 2 3 4 5 6 7 8 9 a; do " + tlsgate_bin() +
                 " cert revoke --ca ca 0b0$i > /dev/null 2>&1 & done; wait");
  ASSERT_EQ(r.code, 0) << describe(r);
  EXPECT_EQ(lines(read_file(path("ca/revocations.txt"))).size(), 11U);  // header and ten
  EXPECT_EQ(crl_entries("ca/ca.crl"), 10);
  EXPECT_EQ(shell("openssl crl -in ca/ca.crl -CAfile ca/ca.crt -noout 2>&1").code, 0);
}

TEST_F(CertRefusals, RevokingAgainRepairsACrlThatDoesNotListTheSerial) {
  tg_ok("cert revoke --ca ca srv/public.crt");
  ASSERT_EQ(crl_entries("ca/ca.crl"), 1);
  // As if the first CRL write had failed: the index has it, the CRL not.
  shell("rm ca/ca.crl");
  Proc r = tg_ok("cert revoke --ca ca srv/public.crt");
  EXPECT_THAT(r.out, HasSubstr("is already revoked since"));
  EXPECT_THAT(r.out, HasSubstr("ca/ca.crl does not list it: writing the CRL again"));
  EXPECT_EQ(crl_entries("ca/ca.crl"), 1);
  // Listed now: a third run changes nothing.
  Proc third = tg_ok("cert revoke --ca ca srv/public.crt");
  EXPECT_THAT(third.out, Not(HasSubstr("writing the CRL again")));
  EXPECT_THAT(third.out, Not(HasSubstr("CRL:")));
}

TEST_F(CertRefusals, AHoldBecomesARevocationWithTheHoldsDate) {
  tg_ok("cert revoke --ca ca srv/public.crt --reason certificateHold");
  Proc again = tg_ok("cert revoke --ca ca srv/public.crt");  // no --reason: nothing changes
  EXPECT_THAT(again.out, HasSubstr("already revoked"));
  const std::string held_at = lines(read_file(path("ca/revocations.txt")))[1];
  Proc r = tg_ok("cert revoke --ca ca srv/public.crt --reason keyCompromise");
  EXPECT_THAT(r.out, HasSubstr("was on hold since"));
  EXPECT_THAT(r.out, HasSubstr("now revoked, reason keyCompromise"));
  auto index = lines(read_file(path("ca/revocations.txt")));
  ASSERT_EQ(index.size(), 2U);
  EXPECT_THAT(index[1], HasSubstr("\tkeyCompromise\t"));
  // The date is the hold's (the serial and date fields are unchanged).
  EXPECT_EQ(index[1].substr(0, index[1].find("\tkeyCompromise")),
            held_at.substr(0, held_at.find("\tcertificateHold")));
  Proc crl = shell("openssl crl -in ca/ca.crl -noout -text");
  EXPECT_THAT(crl.out, HasSubstr("Key Compromise"));
  EXPECT_THAT(crl.out, Not(HasSubstr("Certificate Hold")));
}

TEST_F(CertRefusals, ALeafsKeySignsNoCrl) {
  shell("mkdir leafca && cp srv/public.crt leafca/ca.crt && cp srv/private.key leafca/ca.key");
  for (const std::string verb : {"cert crl --ca leafca", "cert revoke --ca leafca 0bad"}) {
    Proc r = tg(verb);
    EXPECT_EQ(r.code, 1) << verb << ": " << describe(r);
    EXPECT_THAT(r.err, HasSubstr("leafca/ca.crt: CN=db.example.com,O=tlsgate is not a CA "
                                 "certificate (no basicConstraints CA:TRUE)"));
  }
  EXPECT_FALSE(fs::exists(path("leafca/ca.crl")));
}

TEST_F(CertRefusals, InspectPrintsTheCertificatesNamesEscapedAndItsOwnDates) {
  // A DNS name with an escape sequence and an email with a bell and a
  // newline, valid to 2136 (past the 64-bit nanosecond clock's 2262 / 2).
  shell(
      "printf '[req]\\ndistinguished_name=dn\\nx509_extensions=v3\\n[dn]\\n[v3]\\n"
      "subjectAltName=DNS:a\\033[31mred,email:e@x\\007\\n' > ext.cnf");
  Proc mk = shell(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout evil.key "
      "-out evil.crt -subj /CN=evil -days 40000 -config ext.cnf 2>&1");
  ASSERT_EQ(mk.code, 0) << describe(mk);
  Proc r = tg_ok("cert inspect evil.crt");
  EXPECT_THAT(r.out, HasSubstr("names:       DNS:a\\x1b[31mred, email:e@x\\x07\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("\x1b")));
  EXPECT_THAT(r.out, Not(HasSubstr("\x07")));
  std::string end = trim(shell("date -u -d \"$(openssl x509 -in evil.crt -noout -enddate | cut "
                               "-d= -f2)\" '+%Y-%m-%d %H:%M:%S UTC'")
                             .out);
  ASSERT_THAT(end, HasSubstr("213"));
  EXPECT_THAT(r.out, HasSubstr(" to " + end + " ("));
  Proc json = tg_ok("cert inspect --json evil.crt");
  EXPECT_THAT(json.out, HasSubstr("\"not_after\": \"" + end + "\""));
  EXPECT_THAT(json.out, Not(HasSubstr("\"days_left\": 325")));  // the 2116 clamp's figure
}

}  // namespace
}  // namespace tlsgate::e2e
