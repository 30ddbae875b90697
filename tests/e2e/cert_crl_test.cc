// `tlsgate cert crl`: re-signing the CA's CRL from its index, with a growing
// CRL number and a new nextUpdate, judged by `openssl crl`.
#include <unistd.h>

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e_helpers.h"

namespace tlsgate::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

class CertCrl : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) return;
    tg_ok("cert ca --out ca --name 'CRL CA'");
    tg_ok("cert issue --ca ca --out db1 db1.example.com");
  }

  std::string crl_field(const std::string& file, const std::string& field) const {
    Proc r = shell("openssl crl -in " + q(file) + " -noout " + field);
    EXPECT_EQ(r.code, 0) << describe(r);
    return trim(r.out);
  }
};

TEST_F(CertCrl, EmptyIndexGivesAnEmptySignedCrlAndNumbersGrow) {
  Proc r = tg_ok("cert crl --ca ca --days 3");
  EXPECT_THAT(r.out, MatchesRegex("CRL: 0 revoked certificates, CRL number 1, next update .* UTC, "
                                  "written to ca/ca.crl\n"));
  EXPECT_EQ(shell("openssl crl -in ca/ca.crl -CAfile ca/ca.crt -noout 2>&1").out, "verify OK\n");
  EXPECT_EQ(crl_field("ca/ca.crl", "-crlnumber"), "crlNumber=0x01");
  // nextUpdate is three days after lastUpdate.
  Proc days = shell(
      "last=$(openssl crl -in ca/ca.crl -noout -lastupdate | cut -d= -f2); "
      "next=$(openssl crl -in ca/ca.crl -noout -nextupdate | cut -d= -f2); "
      "echo $(( ($(date -d \"$next\" +%s) - $(date -d \"$last\" +%s)) / 3600 ))");
  EXPECT_EQ(trim(days.out), "72") << describe(days);
  tg_ok("cert crl --ca ca");
  EXPECT_EQ(crl_field("ca/ca.crl", "-crlnumber"), "crlNumber=0x02");
  EXPECT_EQ(
      shell("openssl verify -crl_check -CAfile ca/ca.crt -CRLfile ca/ca.crl db1/public.crt").code,
      0);
}

TEST_F(CertCrl, ReSignsTheIndexWithRevocationDatesKept) {
  tg_ok("cert revoke --ca ca db1/public.crt --reason cessationOfOperation");
  std::string first = shell("openssl crl -in ca/ca.crl -noout -text").out;
  Proc r = tg_ok("cert crl --ca ca --out fresh.crl");
  EXPECT_THAT(r.out, HasSubstr("CRL: 1 revoked certificate, CRL number 2,"));
  std::string text = shell("openssl crl -in fresh.crl -CAfile ca/ca.crt -noout -text 2>&1").out;
  EXPECT_THAT(text, HasSubstr("verify OK"));
  EXPECT_THAT(text, HasSubstr("Cessation Of Operation"));
  auto date_of = [](const std::string& t) {
    size_t at = t.find("Revocation Date: ");
    return at == std::string::npos ? std::string() : t.substr(at, t.find('\n', at) - at);
  };
  EXPECT_FALSE(date_of(first).empty());
  EXPECT_EQ(date_of(text), date_of(first));
  Proc v =
      shell("openssl verify -crl_check -CAfile ca/ca.crt -CRLfile fresh.crl db1/public.crt 2>&1");
  EXPECT_NE(v.code, 0);
  EXPECT_THAT(v.out, HasSubstr("certificate revoked"));
}

TEST_F(CertCrl, InstallIntoAPolicysRevokedFolder) {
  tg_ok("cert install --scope bolt --cert db1/public.crt --key db1/private.key --ca ca/ca.crt");
  ASSERT_TRUE(fs::is_directory(path("certificates/bolt/revoked")));
  Proc r = tg_ok("cert crl --ca ca --install-into certificates/bolt/revoked");
  EXPECT_THAT(r.out, HasSubstr("written to ca/ca.crl, certificates/bolt/revoked/ca.crl\n"));
  EXPECT_EQ(read_file(path("certificates/bolt/revoked/ca.crl")), read_file(path("ca/ca.crl")));
  EXPECT_EQ(mode_of(path("certificates/bolt/revoked/ca.crl")), 0644U);
  // Nothing else (no temp file) is left in the folder the gate watches.
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(path("certificates/bolt/revoked"))) {
    ++files;
  }
  EXPECT_EQ(files, 1U);

  Proc missing = tg("cert crl --ca ca --install-into nowhere");
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err,
            "tlsgate: error: nowhere: no such folder; give a policy's revoked/ folder (`tlsgate "
            "cert install` creates it)\n");
}

// A CA made by plain openssl without a subjectKeyIdentifier: the CRL still carries the
// authorityKeyIdentifier RFC 5280 5.2.1 requires, its key identifier computed as OpenSSL's
// subjectKeyIdentifier=hash would (SHA-1 of the public key), and OpenSSL verifies it.
TEST_F(CertCrl, ImportedCaWithoutSubjectKeyIdentifier) {
  Proc made = shell(
      "mkdir imported && cd imported && openssl req -x509 -newkey ec -pkeyopt "
      "ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -subj /CN=Imported -days 30 "
      "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign "
      "-addext subjectKeyIdentifier=none -addext authorityKeyIdentifier=none 2>&1");
  ASSERT_EQ(made.code, 0) << describe(made);
  ASSERT_THAT(shell("openssl x509 -in imported/ca.crt -noout -text").out,
              ::testing::Not(HasSubstr("Subject Key Identifier")));
  tg_ok("cert issue --ca imported --out gone gone.example.com");
  tg_ok("cert issue --ca imported --out kept kept.example.com");
  Proc revoked = tg("cert revoke --ca imported gone/public.crt");
  ASSERT_EQ(revoked.code, 0) << describe(revoked);
  Proc r = tg("cert crl --ca imported");
  ASSERT_EQ(r.code, 0) << describe(r);
  EXPECT_THAT(r.out, HasSubstr("CRL: 1 revoked certificate, CRL number 2,"));
  EXPECT_EQ(shell("openssl crl -in imported/ca.crl -CAfile imported/ca.crt -noout 2>&1").out,
            "verify OK\n");
  // The same key with subjectKeyIdentifier=hash shows the identifier OpenSSL computes.
  Proc twin = shell(
      "openssl req -x509 -key imported/ca.key -subj /CN=Imported -days 1 -addext "
      "subjectKeyIdentifier=hash | openssl x509 -noout -ext subjectKeyIdentifier");
  ASSERT_EQ(twin.code, 0) << describe(twin);
  std::string keyid = trim(lines(twin.out).back());
  ASSERT_FALSE(keyid.empty());
  EXPECT_THAT(shell("openssl crl -in imported/ca.crl -noout -text").out,
              HasSubstr("X509v3 Authority Key Identifier: \n                " + keyid + "\n"));
  std::string verify =
      "openssl verify -crl_check -CAfile imported/ca.crt -CRLfile imported/ca.crl ";
  Proc gone = shell(verify + "gone/public.crt 2>&1");
  EXPECT_NE(gone.code, 0);
  EXPECT_THAT(gone.out, HasSubstr("certificate revoked"));
  Proc kept = shell(verify + "kept/public.crt 2>&1");
  EXPECT_EQ(kept.code, 0) << describe(kept);
}

// A run that fails leaves DIR/crlnumber as it was: the next good CRL's number follows the
// last one published, with no gap for the failures in between.
TEST_F(CertCrl, AFailedRunTakesNoCrlNumber) {
  tg_ok("cert crl --ca ca");
  ASSERT_EQ(trim(read_file(path("ca/crlnumber"))), "1");
  const std::string crl = read_file(path("ca/ca.crl"));
  test::write_text(path("plain"), "not a folder\n", 0644);
  struct Failure {
    std::string args;
    std::string err;
  };
  const std::vector<Failure> failures = {
      {"--install-into nowhere",
       "nowhere: no such folder; give a policy's revoked/ folder (`tlsgate cert install` creates "
       "it)"},
      {"--install-into plain", "plain: not a folder; give a policy's revoked/ folder"},
      {"--out missing/ca.crl",
       "missing/ca.crl: no such folder missing; create it or choose another path"},
      {"--out ca", "ca: is a folder; give the path of the CRL file"},
  };
  for (const auto& f : failures) {
    Proc r = tg("cert crl --ca ca " + f.args);
    EXPECT_EQ(r.code, 1) << f.args << "\n" << describe(r);
    EXPECT_EQ(r.err, "tlsgate: error: " + f.err + "\n") << f.args;
    EXPECT_EQ(trim(read_file(path("ca/crlnumber"))), "1") << f.args;
  }
  // A CA key that cannot be read.
  const std::string key = read_file(path("ca/ca.key"));
  test::write_text(path("ca/ca.key"),
                   "-----BEGIN "  // split: no key-looking block in the sources
                   "PRIVATE KEY-----\nbroken\n",
                   0600);
  Proc broken = tg("cert crl --ca ca");
  EXPECT_EQ(broken.code, 1) << describe(broken);
  EXPECT_THAT(broken.err, HasSubstr("ca/ca.key"));
  EXPECT_EQ(trim(read_file(path("ca/crlnumber"))), "1");
  test::write_text(path("ca/ca.key"), key, 0600);
  EXPECT_EQ(read_file(path("ca/ca.crl")), crl);

  Proc good = tg_ok("cert crl --ca ca");
  EXPECT_THAT(good.out, HasSubstr("CRL number 2,"));
  EXPECT_EQ(crl_field("ca/ca.crl", "-crlnumber"), "crlNumber=0x02");
  EXPECT_EQ(trim(read_file(path("ca/crlnumber"))), "2");
}

// A revoked/ folder the user cannot write: found before the number is taken. A folder's mode
// does not bind root, so as root the binary runs as nobody.
TEST_F(CertCrl, AnUnwritableInstallFolderTakesNoCrlNumber) {
  std::string as_user;
  if (::geteuid() == 0) {
    if (shell("command -v setpriv").code != 0) GTEST_SKIP() << "root, and no setpriv";
    as_user = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
    ASSERT_EQ(shell("chown -R 65534:65534 .").code, 0);
    if (shell(as_user + "test -w .").code != 0) GTEST_SKIP() << "nobody cannot reach " << dir_;
  }
  auto run = [&](const std::string& args) {
    return shell(as_user + q(tlsgate_bin()) + " " + args);
  };
  Proc first = run("cert crl --ca ca");
  ASSERT_EQ(first.code, 0) << describe(first);
  fs::create_directories(path("revoked"));
  if (!as_user.empty()) {
    ASSERT_EQ(shell("chown 65534:65534 revoked").code, 0);
  }
  fs::permissions(path("revoked"), fs::perms(0555));
  Proc r = run("cert crl --ca ca --install-into revoked");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(r.err,
            "tlsgate: error: revoked/ca.crl: cannot write into revoked (Permission denied); let "
            "the user running tlsgate write there, or choose another path\n");
  EXPECT_EQ(trim(read_file(path("ca/crlnumber"))), "1");
  fs::permissions(path("revoked"), fs::perms(0755));
  Proc good = run("cert crl --ca ca --install-into revoked");
  EXPECT_EQ(good.code, 0) << describe(good);
  EXPECT_THAT(good.out, HasSubstr("CRL number 2,"));
  EXPECT_EQ(read_file(path("revoked/ca.crl")), read_file(path("ca/ca.crl")));
}

TEST_F(CertCrl, BrokenIndexIsNamed) {
  test::write_text(path("ca/revocations.txt"), "# x\nnot a line\n", 0644);
  Proc r = tg("cert crl --ca ca");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "tlsgate: error: ca/revocations.txt:2: expected 4 TAB-separated fields (serial, "
            "revoked at, reason, subject), found 1; repair the line or restore the file from a "
            "backup\n");
}

}  // namespace
}  // namespace tlsgate::e2e
