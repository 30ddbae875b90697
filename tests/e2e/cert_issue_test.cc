// `tlsgate cert ca` and `cert issue`, judged by `openssl verify` and `openssl x509`.
#include <algorithm>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e_helpers.h"

namespace tlsgate::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CertIssue : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) return;
    Proc r = tg_ok("cert ca --out ca --name 'Example CA'");
    EXPECT_EQ(
        r.out,
        "CA \"Example CA\" written: ca/ca.crt (certificate), ca/ca.key (key, keep it secret)\n");
  }

  // `openssl verify -CAfile ca/ca.crt -purpose PURPOSE FILE`: its exit code.
  int openssl_verify(const std::string& purpose, const std::string& file) const {
    return shell("openssl verify -CAfile ca/ca.crt -purpose " + purpose + " " + q(file)).code;
  }

  // The text of one extension as `openssl x509 -noout -ext NAME` prints it, lines joined by '|'.
  std::string ext(const std::string& file, const std::string& name) const {
    Proc r = shell("openssl x509 -in " + q(file) + " -noout -ext " + name);
    EXPECT_EQ(r.code, 0) << describe(r);
    std::string joined;
    for (const auto& l : lines(r.out)) joined += (joined.empty() ? "" : "|") + trim(l);
    return joined;
  }

  std::string x509_text(const std::string& file) const {
    return shell("openssl x509 -in " + q(file) + " -noout -text").out;
  }

  // A CA folder (ca.crt, ca.key) made by `openssl ca -selfsign` with the validity given as
  // YYYYMMDDHHMMSSZ, such as one that expired years ago, which `tlsgate cert ca` cannot make.
  void make_openssl_ca(const std::string& folder, const std::string& start,
                       const std::string& end) const {
    test::write_text(path(folder + ".cnf"),
                     "[ca]\ndefault_ca = c\n[c]\ndatabase = " + folder +
                         ".index\nnew_certs_dir = " + folder + "\nserial = " + folder +
                         ".serial\ndefault_md = sha256\npolicy = any\nx509_extensions = v3\n"
                         "[any]\ncommonName = supplied\n[v3]\nbasicConstraints = "
                         "critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
                         "subjectKeyIdentifier = hash\n");
    fs::create_directories(path(folder));
    Proc r = shell("touch " + folder + ".index && echo 01 > " + folder +
                   ".serial && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                   "-keyout " +
                   folder + "/ca.key -out " + folder + ".csr -subj '/CN=" + folder +
                   " CA' 2>&1 && openssl ca -batch -notext -config " + folder +
                   ".cnf -selfsign -keyfile " + folder + "/ca.key -in " + folder + ".csr -out " +
                   folder + "/ca.crt -startdate " + start + " -enddate " + end + " 2>&1");
    ASSERT_EQ(r.code, 0) << describe(r);
  }

  // notAfter of a certificate as openssl prints it ("Jan  1 00:00:00 2021 GMT").
  std::string end_date(const std::string& file) const {
    std::string line = trim(shell("openssl x509 -in " + q(file) + " -noout -enddate").out);
    return line.substr(line.find('=') + 1);
  }
};

TEST_F(CertIssue, CaIsACertificateAuthorityWithPrivateKeyFile) {
  EXPECT_EQ(mode_of(path("ca/ca.key")), 0600U);
  EXPECT_EQ(mode_of(path("ca/ca.crt")), 0644U);
  EXPECT_EQ(ext("ca/ca.crt", "basicConstraints"), "X509v3 Basic Constraints: critical|CA:TRUE");
  EXPECT_EQ(ext("ca/ca.crt", "keyUsage"), "X509v3 Key Usage: critical|Certificate Sign, CRL Sign");
  std::string text = x509_text("ca/ca.crt");
  EXPECT_THAT(text, HasSubstr("Subject: O = tlsgate, CN = Example CA"));
  EXPECT_THAT(text, HasSubstr("Issuer: O = tlsgate, CN = Example CA"));
  EXPECT_THAT(text, HasSubstr("ASN1 OID: prime256v1"));
  EXPECT_THAT(text, HasSubstr("Signature Algorithm: ecdsa-with-SHA256"));
  // The CA key really is the CA certificate's key.
  EXPECT_EQ(openssl_pubkey_of_key(dir_, "ca/ca.key"), openssl_pubkey_of_cert(dir_, "ca/ca.crt"));
  // Self-signed root: openssl accepts it as its own anchor.
  EXPECT_EQ(shell("openssl verify -CAfile ca/ca.crt ca/ca.crt").code, 0);
}

TEST_F(CertIssue, DefaultIsAnEcdsaServerCertificate) {
  Proc r = tg_ok("cert issue --ca ca --out server db1.example.com localhost 127.0.0.1");
  EXPECT_EQ(r.out,
            "server certificate for db1.example.com, localhost, 127.0.0.1 written: "
            "server/public.crt, server/private.key\n");
  EXPECT_EQ(openssl_verify("sslserver", "server/public.crt"), 0);
  EXPECT_NE(openssl_verify("sslclient", "server/public.crt"), 0) << "a server-only certificate";
  EXPECT_EQ(
      ext("server/public.crt", "subjectAltName"),
      "X509v3 Subject Alternative Name:|DNS:db1.example.com, DNS:localhost, IP Address:127.0.0.1");
  EXPECT_EQ(ext("server/public.crt", "keyUsage"), "X509v3 Key Usage: critical|Digital Signature");
  EXPECT_EQ(ext("server/public.crt", "extendedKeyUsage"),
            "X509v3 Extended Key Usage:|TLS Web Server Authentication");
  EXPECT_EQ(ext("server/public.crt", "basicConstraints"),
            "X509v3 Basic Constraints: critical|CA:FALSE");
  std::string text = x509_text("server/public.crt");
  EXPECT_THAT(text, HasSubstr("Subject: O = tlsgate, CN = db1.example.com"));
  EXPECT_THAT(text, HasSubstr("Issuer: O = tlsgate, CN = Example CA"));
  EXPECT_THAT(text, HasSubstr("ASN1 OID: prime256v1"));
  EXPECT_THAT(text, HasSubstr("X509v3 Subject Key Identifier"));
  EXPECT_THAT(text, HasSubstr("X509v3 Authority Key Identifier"));
  EXPECT_EQ(mode_of(path("server/private.key")), 0600U);
  EXPECT_EQ(mode_of(path("server/public.crt")), 0644U);
  EXPECT_EQ(openssl_pubkey_of_key(dir_, "server/private.key"),
            openssl_pubkey_of_cert(dir_, "server/public.crt"));
  // Unencrypted PKCS#8, as the policy's private_key default expects.
  EXPECT_THAT(read_file(path("server/private.key")), HasSubstr("-----BEGIN "
                                                               "PRIVATE KEY-----"));
  // public.crt holds only the leaf when the CA is a root.
  Proc count = shell("grep -c 'BEGIN CERTIFICATE' server/public.crt");
  EXPECT_EQ(trim(count.out), "1");
}

TEST_F(CertIssue, ExplicitServerFlagMatchesTheDefault) {
  tg_ok("cert issue --ca ca --out s --server svc.example.com");
  EXPECT_EQ(openssl_verify("sslserver", "s/public.crt"), 0);
  EXPECT_NE(openssl_verify("sslclient", "s/public.crt"), 0);
  EXPECT_EQ(ext("s/public.crt", "extendedKeyUsage"),
            "X509v3 Extended Key Usage:|TLS Web Server Authentication");
}

TEST_F(CertIssue, RsaServerCertificateFromAnRsaCa) {
  tg_ok("cert ca --out rca --name 'RSA CA' --rsa 2048");
  Proc r = tg_ok("cert issue --ca rca --out rsa --rsa 2048 rsa.example.com");
  EXPECT_EQ(r.out,
            "server certificate for rsa.example.com written: rsa/public.crt, rsa/private.key\n");
  EXPECT_EQ(shell("openssl verify -CAfile rca/ca.crt -purpose sslserver rsa/public.crt").code, 0);
  std::string text = x509_text("rsa/public.crt");
  EXPECT_THAT(text, HasSubstr("Public-Key: (2048 bit)"));
  EXPECT_THAT(text, HasSubstr("rsaEncryption"));
  EXPECT_THAT(text, HasSubstr("Signature Algorithm: sha256WithRSAEncryption"));
  // An RSA server certificate may be used for key encipherment (RSA key exchange).
  EXPECT_EQ(ext("rsa/public.crt", "keyUsage"),
            "X509v3 Key Usage: critical|Digital Signature, Key Encipherment");
  EXPECT_EQ(ext("rsa/public.crt", "subjectAltName"),
            "X509v3 Subject Alternative Name:|DNS:rsa.example.com");
  EXPECT_EQ(mode_of(path("rsa/private.key")), 0600U);
  EXPECT_EQ(openssl_pubkey_of_key(dir_, "rsa/private.key"),
            openssl_pubkey_of_cert(dir_, "rsa/public.crt"));
  EXPECT_THAT(shell("openssl rsa -in rsa/private.key -noout -check").out, HasSubstr("RSA key ok"));
}

TEST_F(CertIssue, RsaLeafFromEcdsaCa) {
  tg_ok("cert issue --ca ca --out rsa --rsa 2048 rsa.example.com");
  EXPECT_EQ(openssl_verify("sslserver", "rsa/public.crt"), 0);
  EXPECT_THAT(x509_text("rsa/public.crt"), HasSubstr("Public-Key: (2048 bit)"));
  EXPECT_THAT(x509_text("rsa/public.crt"), HasSubstr("Signature Algorithm: ecdsa-with-SHA256"));
}

TEST_F(CertIssue, ClientCertificateForAnEmail) {
  Proc r = tg_ok("cert issue --ca ca --out app --client app1@example.com");
  EXPECT_EQ(r.out,
            "client certificate for app1@example.com written: app/public.crt, app/private.key\n");
  EXPECT_EQ(openssl_verify("sslclient", "app/public.crt"), 0);
  EXPECT_NE(openssl_verify("sslserver", "app/public.crt"), 0) << "a client-only certificate";
  EXPECT_EQ(ext("app/public.crt", "subjectAltName"),
            "X509v3 Subject Alternative Name:|email:app1@example.com");
  EXPECT_EQ(ext("app/public.crt", "keyUsage"), "X509v3 Key Usage: critical|Digital Signature");
  EXPECT_EQ(ext("app/public.crt", "extendedKeyUsage"),
            "X509v3 Extended Key Usage:|TLS Web Client Authentication");
  EXPECT_EQ(mode_of(path("app/private.key")), 0600U);
}

TEST_F(CertIssue, ServerAndClientWithEveryKindOfName) {
  Proc r = tg_ok(
      "cert issue --ca ca --out both --server --client db.example.com 10.0.0.1 2001:db8::7 "
      "ops@example.com spiffe://example.com/db '*.db.example.com'");
  EXPECT_EQ(
      r.out,
      "server and client certificate for db.example.com, 10.0.0.1, 2001:db8::7, ops@example.com, "
      "spiffe://example.com/db, *.db.example.com written: both/public.crt, both/private.key\n");
  EXPECT_EQ(openssl_verify("sslserver", "both/public.crt"), 0);
  EXPECT_EQ(openssl_verify("sslclient", "both/public.crt"), 0);
  std::string san = ext("both/public.crt", "subjectAltName");
  EXPECT_THAT(san, HasSubstr("DNS:db.example.com"));
  EXPECT_THAT(san, HasSubstr("DNS:*.db.example.com"));
  EXPECT_THAT(san, HasSubstr("IP Address:10.0.0.1"));
  EXPECT_THAT(san, HasSubstr("IP Address:2001:DB8:0:0:0:0:0:7"));
  EXPECT_THAT(san, HasSubstr("email:ops@example.com"));
  EXPECT_THAT(san, HasSubstr("URI:spiffe://example.com/db"));
  EXPECT_EQ(
      ext("both/public.crt", "extendedKeyUsage"),
      "X509v3 Extended Key Usage:|TLS Web Server Authentication, TLS Web Client Authentication");
  EXPECT_EQ(ext("both/public.crt", "keyUsage"), "X509v3 Key Usage: critical|Digital Signature");
  // openssl checks the names the way a TLS client would.
  EXPECT_EQ(
      shell("openssl verify -CAfile ca/ca.crt -verify_hostname db.example.com both/public.crt")
          .code,
      0);
  EXPECT_EQ(
      shell("openssl verify -CAfile ca/ca.crt -verify_hostname x.db.example.com both/public.crt")
          .code,
      0);
  EXPECT_EQ(shell("openssl verify -CAfile ca/ca.crt -verify_ip 10.0.0.1 both/public.crt").code, 0);
  EXPECT_EQ(
      shell("openssl verify -CAfile ca/ca.crt -verify_email ops@example.com both/public.crt").code,
      0);
  EXPECT_NE(
      shell("openssl verify -CAfile ca/ca.crt -verify_hostname other.example.com both/public.crt")
          .code,
      0);
}

TEST_F(CertIssue, SerialsAreLargeRandomAndDistinct) {
  tg_ok("cert issue --ca ca --out one one.example.com");
  tg_ok("cert issue --ca ca --out two one.example.com");
  std::string s_ca = openssl_serial(dir_, "ca/ca.crt");
  std::string s1 = openssl_serial(dir_, "one/public.crt");
  std::string s2 = openssl_serial(dir_, "two/public.crt");
  EXPECT_NE(s1, s2);
  EXPECT_NE(s1, s_ca);
  EXPECT_NE(s2, s_ca);
  for (const auto& s : {s_ca, s1, s2}) {
    // Positive, 16 octets (RFC 5280 allows 20), the second-highest bit always
    // set: exactly 127 bits, 126 of them random.
    EXPECT_EQ(hex_bits(s), 127) << s;
  }
  // openssl agrees the DER encodes a positive INTEGER.
  EXPECT_THAT(x509_text("one/public.crt"), Not(HasSubstr("(Negative)")));
}

TEST_F(CertIssue, CaRefusesToOverwriteAnExistingKeyWithoutForce) {
  std::string key_before = read_file(path("ca/ca.key"));
  std::string crt_before = read_file(path("ca/ca.crt"));
  Proc r = tg("cert ca --out ca --name 'Example CA'");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(r.err,
            "tlsgate: error: ca/ca.key exists; a new CA would orphan every certificate the old one "
            "issued; pass --force to replace it\n");
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(read_file(path("ca/ca.key")), key_before);
  EXPECT_EQ(read_file(path("ca/ca.crt")), crt_before);

  Proc forced = tg_ok("cert ca --out ca --name 'Example CA' --force");
  EXPECT_NE(read_file(path("ca/ca.key")), key_before);
  EXPECT_EQ(openssl_pubkey_of_key(dir_, "ca/ca.key"), openssl_pubkey_of_cert(dir_, "ca/ca.crt"));
  EXPECT_EQ(mode_of(path("ca/ca.key")), 0600U);
}

TEST_F(CertIssue, IssueKeepsAnExistingKeyUnlessToldWhatToDoWithIt) {
  tg_ok("cert issue --ca ca --out srv srv.example.com");
  std::string key_before = read_file(path("srv/private.key"));
  std::string crt_before = read_file(path("srv/public.crt"));
  Proc r = tg("cert issue --ca ca --out srv srv.example.com");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(r.err,
            "tlsgate: error: srv/private.key exists; --reuse-key renews with that key (the pin "
            "stays), --force replaces it with a new one\n");
  EXPECT_EQ(read_file(path("srv/private.key")), key_before);
  EXPECT_EQ(read_file(path("srv/public.crt")), crt_before);

  tg_ok("cert issue --ca ca --out srv --reuse-key srv.example.com");
  EXPECT_EQ(read_file(path("srv/private.key")), key_before);
  EXPECT_NE(read_file(path("srv/public.crt")), crt_before);

  tg_ok("cert issue --ca ca --out srv --force srv.example.com");
  EXPECT_NE(read_file(path("srv/private.key")), key_before);
  EXPECT_EQ(openssl_pubkey_of_key(dir_, "srv/private.key"),
            openssl_pubkey_of_cert(dir_, "srv/public.crt"));
  EXPECT_EQ(mode_of(path("srv/private.key")), 0600U);
}

// Every entry of dir, hidden temporaries included, sorted.
std::vector<std::string> folder_listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST_F(CertIssue, AFailedReplaceKeepsTheOldKeyAndCertificateTogether) {
  tg_ok("cert issue --ca ca --out srv db.example.com");
  std::string key_before = read_file(path("srv/private.key"));
  fs::copy_file(path("srv/public.crt"), path("old.crt"));
  // A folder where public.crt goes: renaming the new certificate into place fails after the
  // new key is already in place, and the key must go back.
  fs::remove(path("srv/public.crt"));
  fs::create_directory(path("srv/public.crt"));
  Proc r = tg("cert issue --ca ca --out srv --force db.example.com");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(r.err,
            "tlsgate: error: cannot rename into srv/public.crt: Is a directory; nothing was "
            "changed\n");
  EXPECT_EQ(read_file(path("srv/private.key")), key_before);
  EXPECT_EQ(mode_of(path("srv/private.key")), 0600U);
  EXPECT_EQ(openssl_pubkey_of_key(dir_, "srv/private.key"),
            openssl_pubkey_of_cert(dir_, "old.crt"));
  EXPECT_EQ(folder_listing(path("srv")), (std::vector<std::string>{"private.key", "public.crt"}));

  // An immutable certificate (where chattr works: root on ext4 and the like) cannot be replaced
  // either; the key stays with it.
  fs::remove(path("srv/public.crt"));
  fs::copy_file(path("old.crt"), path("srv/public.crt"));
  if (shell("chattr +i srv/public.crt 2>/dev/null").code == 0) {
    Proc imm = tg("cert issue --ca ca --out srv --force db.example.com");
    shell("chattr -i srv/public.crt");
    EXPECT_EQ(imm.code, 1) << describe(imm);
    EXPECT_EQ(imm.err,
              "tlsgate: error: cannot rename into srv/public.crt: Operation not permitted; "
              "nothing was changed\n");
    EXPECT_EQ(read_file(path("srv/private.key")), key_before);
    EXPECT_EQ(read_file(path("srv/public.crt")), read_file(path("old.crt")));
    EXPECT_EQ(folder_listing(path("srv")), (std::vector<std::string>{"private.key", "public.crt"}));
  }
  // With the way clear the same command works.
  tg_ok("cert issue --ca ca --out srv --force db.example.com");
  EXPECT_NE(read_file(path("srv/private.key")), key_before);
  EXPECT_EQ(openssl_pubkey_of_key(dir_, "srv/private.key"),
            openssl_pubkey_of_cert(dir_, "srv/public.crt"));
  EXPECT_EQ(folder_listing(path("srv")), (std::vector<std::string>{"private.key", "public.crt"}));
}

TEST_F(CertIssue, AFailedCaWriteLeavesNoOrphanKey) {
  fs::create_directories(path("hca/ca.crt"));
  Proc r = tg("cert ca --out hca");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(r.err,
            "tlsgate: error: cannot rename into hca/ca.crt: Is a directory; nothing was changed\n");
  EXPECT_EQ(folder_listing(path("hca")), std::vector<std::string>{"ca.crt"});
  // Nothing half-made blocks the next attempt.
  fs::remove(path("hca/ca.crt"));
  tg_ok("cert ca --out hca");
  EXPECT_EQ(openssl_pubkey_of_key(dir_, "hca/ca.key"), openssl_pubkey_of_cert(dir_, "hca/ca.crt"));

  // Replacing a CA: the old pair stays when the certificate cannot be written.
  std::string key_before = read_file(path("ca/ca.key"));
  fs::copy_file(path("ca/ca.crt"), path("old-ca.crt"));
  fs::remove(path("ca/ca.crt"));
  fs::create_directory(path("ca/ca.crt"));
  Proc forced = tg("cert ca --out ca --force");
  EXPECT_EQ(forced.code, 1) << describe(forced);
  EXPECT_THAT(forced.err, HasSubstr("cannot rename into ca/ca.crt: Is a directory"));
  EXPECT_EQ(read_file(path("ca/ca.key")), key_before);
  EXPECT_EQ(openssl_pubkey_of_key(dir_, "ca/ca.key"), openssl_pubkey_of_cert(dir_, "old-ca.crt"));
}

TEST_F(CertIssue, ReplacingACaMovesItsRevocationStateAside) {
  tg_ok("cert issue --ca ca --out srv srv.example.com");
  tg_ok("cert revoke --ca ca srv/public.crt");
  tg_ok("cert crl --ca ca");
  std::string old_index = read_file(path("ca/revocations.txt"));
  std::string old_crl = read_file(path("ca/ca.crl"));
  std::string old_serial = trim(shell("openssl x509 -in srv/public.crt -noout -serial").out);
  old_serial = old_serial.substr(old_serial.find('=') + 1);
  ASSERT_THAT(shell("openssl crl -in ca/ca.crl -noout -text").out, HasSubstr(old_serial));

  Proc r = tg_ok("cert ca --out ca --name 'Example CA' --force");
  auto out = lines(r.out);
  ASSERT_EQ(out.size(), 2U) << r.out;
  EXPECT_EQ(out[0],
            "CA \"Example CA\" written: ca/ca.crt (certificate), ca/ca.key (key, keep it secret)");
  EXPECT_THAT(out[1], ::testing::MatchesRegex(
                          "the replaced CA's revocation state was moved aside \\(the new CA has "
                          "revoked nothing\\): ca/revocations.txt -> "
                          "revocations.txt.replaced-[0-9]{8}T[0-9]{6}Z, ca/crlnumber -> "
                          "crlnumber.replaced-[0-9]{8}T[0-9]{6}Z, ca/ca.crl -> "
                          "ca.crl.replaced-[0-9]{8}T[0-9]{6}Z"));
  EXPECT_FALSE(fs::exists(path("ca/revocations.txt")));
  EXPECT_FALSE(fs::exists(path("ca/crlnumber")));
  EXPECT_FALSE(fs::exists(path("ca/ca.crl")));
  // Kept for the record, unchanged.
  std::string stamp = out[1].substr(out[1].rfind(".replaced-"));
  EXPECT_EQ(read_file(path("ca/revocations.txt" + stamp)), old_index);
  EXPECT_EQ(read_file(path("ca/ca.crl" + stamp)), old_crl);

  // The new CA's first CRL lists nothing of the old one's, starts at number 1 and verifies.
  tg_ok("cert crl --ca ca");
  std::string text = shell("openssl crl -in ca/ca.crl -CAfile ca/ca.crt -noout -text 2>&1").out;
  EXPECT_THAT(text, HasSubstr("verify OK"));
  EXPECT_THAT(text, HasSubstr("No Revoked Certificates"));
  EXPECT_THAT(text, Not(HasSubstr(old_serial)));
  EXPECT_EQ(trim(shell("openssl crl -in ca/ca.crl -noout -crlnumber").out), "crlNumber=0x01");

  // A CA folder without revocation state says nothing about it.
  Proc again = tg_ok("cert ca --out fresh");
  EXPECT_EQ(lines(again.out).size(), 1U) << again.out;
}

TEST_F(CertIssue, CaNamesAreCheckedNeverCut) {
  Proc newline = tg("cert ca --out c1 --name \"$(printf 'Evil\\nCA')\"");
  EXPECT_EQ(newline.code, 2) << describe(newline);
  EXPECT_EQ(newline.err,
            "tlsgate: error: --name \"Evil\\x0aCA\": control characters (newline, tab, ...) are "
            "not allowed in a name; use printable characters only\n");
  Proc tab = tg("cert ca --out c1 --name \"$(printf 'Evil\\tCA')\"");
  EXPECT_EQ(tab.code, 2) << describe(tab);
  EXPECT_THAT(tab.err, HasSubstr("--name \"Evil\\x09CA\": control characters"));
  Proc empty = tg("cert ca --out c1 --name ''");
  EXPECT_EQ(empty.code, 2) << describe(empty);
  EXPECT_EQ(empty.err,
            "tlsgate: error: --name \"\": a name is needed; give one, e.g. --name \"Example Ops "
            "CA\"\n");
  Proc blank = tg("cert ca --out c1 --name '   '");
  EXPECT_EQ(blank.code, 2) << describe(blank);
  Proc long_name = tg("cert ca --out c1 --name " + std::string(100, 'N'));
  EXPECT_EQ(long_name.code, 2) << describe(long_name);
  EXPECT_EQ(long_name.err,
            "tlsgate: error: --name: 100 characters; a certificate's common name (CN) holds at "
            "most 64 (RFC 5280); give a shorter name\n");
  EXPECT_FALSE(fs::exists(path("c1")));

  // 64 characters are fine, counted as characters, not bytes.
  std::string umlauts;
  for (int i = 0; i < 64; ++i) umlauts += "\xc3\xa4";  // U+00E4
  tg_ok("cert ca --out c64 --name " + q(umlauts));
  EXPECT_THAT(
      shell("openssl x509 -in c64/ca.crt -noout -subject -nameopt utf8,sep_comma_plus_space").out,
      HasSubstr("CN=" + umlauts + "\n"));
  EXPECT_EQ(shell("openssl verify -CAfile c64/ca.crt c64/ca.crt").code, 0);
}

TEST_F(CertIssue, NamesWithControlCharactersAreRefused) {
  Proc uri = tg("cert issue --ca ca --out u \"$(printf 'spiffe://x/a\\001b')\"");
  EXPECT_EQ(uri.code, 2) << describe(uri);
  EXPECT_EQ(uri.err,
            "tlsgate: error: \"spiffe://x/a\\x01b\" is not a valid name: control characters "
            "(newline, tab, ...) and bytes that are not UTF-8 are not allowed; give the name in "
            "printable characters\n");
  EXPECT_EQ(uri.out, "");
  EXPECT_FALSE(fs::exists(path("u")));
}

// A wildcard over a single label (OpenSSL and browsers match it to nothing) and a mailto:
// URI given where an email address belongs are refused by `issue`, and by `csr` and `sign`,
// which check names the same way.
TEST_F(CertIssue, WildcardsOverOneLabelAndMailtoNamesAreRefused) {
  const std::string wildcard =
      "\": a wildcard needs two labels or more after \"*.\", as in *.example.com (TLS clients "
      "match *.com, *.localhost and the like to nothing); list the names themselves instead\n";
  for (std::string name : {"*.com", "*.localhost"}) {
    Proc r = tg("cert issue --ca ca --out w " + q(name));
    EXPECT_EQ(r.code, 2) << describe(r);
    EXPECT_EQ(r.err, "tlsgate: error: \"" + name + wildcard);
    Proc csr = tg("cert csr --out wr " + q(name));
    EXPECT_EQ(csr.code, 2) << describe(csr);
    EXPECT_EQ(csr.err, "tlsgate: error: \"" + name + wildcard);
  }
  Proc star = tg("cert issue --ca ca --out w '*'");
  EXPECT_EQ(star.code, 2) << describe(star);
  EXPECT_THAT(star.err, HasSubstr("\"*\" is not a valid DNS name"));
  Proc mailto = tg("cert issue --ca ca --out w --client mailto:ops@example.com");
  EXPECT_EQ(mailto.code, 2) << describe(mailto);
  EXPECT_EQ(mailto.err,
            "tlsgate: error: \"mailto:ops@example.com\" is a mailto: URI; for an email name give "
            "the address alone: ops@example.com\n");
  Proc colon = tg("cert issue --ca ca --out w --client 'user:pw@example.com'");
  EXPECT_EQ(colon.code, 2) << describe(colon);
  EXPECT_EQ(colon.err,
            "tlsgate: error: \"user:pw@example.com\" is not a valid email address; write it as "
            "user@example.com\n");
  EXPECT_FALSE(fs::exists(path("w")));
  EXPECT_FALSE(fs::exists(path("wr")));
  // A request made elsewhere for such a name gets no certificate either.
  Proc req = shell(
      "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout r.key "
      "-out r.csr -subj /CN=x -addext 'subjectAltName=DNS:*.com' 2>&1");
  ASSERT_EQ(req.code, 0) << describe(req);
  Proc sign = tg("cert sign --ca ca --out r.crt r.csr");
  EXPECT_EQ(sign.code, 1) << describe(sign);
  EXPECT_THAT(sign.err, HasSubstr("\"*.com" + wildcard.substr(0, wildcard.size() - 1)));
  EXPECT_FALSE(fs::exists(path("r.crt")));
  // Two labels after the wildcard, and URIs, are fine; OpenSSL matches the wildcard.
  tg_ok("cert issue --ca ca --out ok '*.db.localhost' http://x spiffe://cluster/db");
  EXPECT_EQ(ext("ok/public.crt", "subjectAltName"),
            "X509v3 Subject Alternative Name:|DNS:*.db.localhost, URI:http://x, "
            "URI:spiffe://cluster/db");
  EXPECT_EQ(shell("openssl verify -CAfile ca/ca.crt -verify_hostname a.db.localhost "
                  "ok/public.crt")
                .code,
            0);
}

TEST_F(CertIssue, ANameTooLongForTheCommonNameIsInTheSanOnly) {
  // 133 characters: a valid DNS name, too long for a CN (64).
  std::string long_dns = std::string(63, 'a') + "." + std::string(61, 'b') + ".example";
  ASSERT_EQ(long_dns.size(), 133U);
  tg_ok("cert issue --ca ca --out long " + long_dns);
  std::string subject = trim(shell("openssl x509 -in long/public.crt -noout -subject").out);
  EXPECT_EQ(subject, "subject=O = tlsgate");
  EXPECT_EQ(ext("long/public.crt", "subjectAltName"),
            "X509v3 Subject Alternative Name:|DNS:" + long_dns);
  EXPECT_EQ(
      shell("openssl verify -CAfile ca/ca.crt -verify_hostname " + long_dns + " long/public.crt")
          .code,
      0);
  // With a shorter name after it, that one is the CN.
  tg_ok("cert issue --ca ca --out two " + long_dns + " short.example.com");
  EXPECT_EQ(trim(shell("openssl x509 -in two/public.crt -noout -subject").out),
            "subject=O = tlsgate, CN = short.example.com");
  EXPECT_EQ(ext("two/public.crt", "subjectAltName"),
            "X509v3 Subject Alternative Name:|DNS:" + long_dns + ", DNS:short.example.com");
}

TEST_F(CertIssue, AReusedKeyMeetsTheRulesOfANewOne) {
  const std::string rule =
      "; tlsgate certifies only RSA keys of at least 2048 bits and ECDSA keys on P-256, P-384 or "
      "P-521 (what TLS clients accept); --force replaces it with a new key (ECDSA P-256, or --rsa "
      "2048)\n";
  struct Case {
    std::string folder, genpkey, what;
  };
  for (const auto& c : std::vector<Case>{
           {"rsa1024", "-algorithm RSA -pkeyopt rsa_keygen_bits:1024", "an RSA key of 1024 bits"},
           {"k1", "-algorithm EC -pkeyopt ec_paramgen_curve:secp256k1", "an EC key on secp256k1"},
           {"brainpool", "-algorithm EC -pkeyopt ec_paramgen_curve:brainpoolP256r1",
            "an EC key on brainpoolP256r1"},
           {"ed", "-algorithm ED25519", "an ED25519 key"}}) {
    fs::create_directories(path(c.folder));
    Proc gen = shell("openssl genpkey " + c.genpkey + " -out " + c.folder + "/private.key 2>&1");
    ASSERT_EQ(gen.code, 0) << describe(gen);
    std::string key_before = read_file(path(c.folder + "/private.key"));
    Proc r = tg("cert issue --ca ca --out " + c.folder + " --reuse-key r.example.com");
    EXPECT_EQ(r.code, 1) << describe(r);
    EXPECT_EQ(r.err, "tlsgate: error: " + c.folder + "/private.key: " + c.what + rule);
    EXPECT_FALSE(fs::exists(path(c.folder + "/public.crt"))) << c.folder;
    EXPECT_EQ(read_file(path(c.folder + "/private.key")), key_before);
  }
  // What tlsgate would make, or could: RSA 2048+ and ECDSA on P-256, P-384, P-521.
  for (const auto& [folder, genpkey] : std::vector<std::pair<std::string, std::string>>{
           {"rsa2048", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048"},
           {"p384", "-algorithm EC -pkeyopt ec_paramgen_curve:P-384"},
           {"p521", "-algorithm EC -pkeyopt ec_paramgen_curve:P-521"}}) {
    fs::create_directories(path(folder));
    ASSERT_EQ(shell("openssl genpkey " + genpkey + " -out " + folder + "/private.key").code, 0);
    tg_ok("cert issue --ca ca --out " + folder + " --reuse-key r.example.com");
    EXPECT_EQ(openssl_verify("sslserver", folder + "/public.crt"), 0) << folder;
    EXPECT_EQ(openssl_pubkey_of_key(dir_, folder + "/private.key"),
              openssl_pubkey_of_cert(dir_, folder + "/public.crt"));
  }
}

TEST_F(CertIssue, AnExpiredOrNotYetValidCaIssuesNothing) {
  make_openssl_ca("old", "20200101000000Z", "20210101000000Z");
  ASSERT_EQ(end_date("old/ca.crt"), "Jan  1 00:00:00 2021 GMT");
  Proc r = tg("cert issue --ca old --out x x.example.com");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(r.err,
            "tlsgate: error: old/ca.crt: the CA certificate (CN=old CA) expired on 2021-01-01 "
            "00:00:00 UTC (valid 2020-01-01 00:00:00 UTC to 2021-01-01 00:00:00 UTC); nothing it "
            "signs now would verify; make a new CA (`tlsgate cert ca --out DIR --force`) and "
            "issue again, or check this machine's clock\n");
  EXPECT_FALSE(fs::exists(path("x")));

  make_openssl_ca("future", "20990101000000Z", "21000101000000Z");
  Proc f = tg("cert issue --ca future --out x x.example.com");
  EXPECT_EQ(f.code, 1) << describe(f);
  EXPECT_EQ(f.err,
            "tlsgate: error: future/ca.crt: the CA certificate (CN=future CA) is not valid until "
            "2099-01-01 00:00:00 UTC (valid 2099-01-01 00:00:00 UTC to 2100-01-01 00:00:00 UTC); "
            "check this machine's clock, or wait until then\n");
  EXPECT_FALSE(fs::exists(path("x")));
}

TEST_F(CertIssue, ALeafNeverOutlivesItsCa) {
  tg_ok("cert ca --out short --days 30");
  Proc r = tg_ok("cert issue --ca short --out s s.example.com");
  EXPECT_EQ(end_date("s/public.crt"), end_date("short/ca.crt"));
  EXPECT_THAT(r.err, ::testing::MatchesRegex(
                         "tlsgate: warning: the certificate for s.example.com ends on "
                         "[-0-9]+ [:0-9]+ UTC with its CA \\(short/ca.crt\\), not 397 days from "
                         "now; renew the CA before then\n"));
  EXPECT_EQ(shell("openssl verify -CAfile short/ca.crt -purpose sslserver s/public.crt").code, 0);
  // openssl agrees the leaf is still valid on the CA's last day, and neither is after it.
  EXPECT_EQ(shell("openssl verify -CAfile short/ca.crt -attime $(( $(date +%s) + 29 * 86400 )) "
                  "s/public.crt")
                .code,
            0);

  // --days 3650 from a CA that ends sooner: capped to the CA's end too.
  tg_ok("cert ca --out eight --days 3000");
  Proc long_days = tg_ok("cert issue --ca eight --out l --days 3650 l.example.com");
  EXPECT_EQ(end_date("l/public.crt"), end_date("eight/ca.crt"));
  EXPECT_THAT(long_days.err, HasSubstr("not 3650 days from now"));
  // Within the CA's life nothing changes and nothing is said.
  Proc within = tg_ok("cert issue --ca short --out w --days 7 w.example.com");
  EXPECT_EQ(within.err, "");
  EXPECT_NE(end_date("w/public.crt"), end_date("short/ca.crt"));
}

TEST_F(CertIssue, IssuingFromAMissingCaFolderFails) {
  Proc r = tg("cert issue --ca nope --out x x.example.com");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_EQ(
      r.err,
      "tlsgate: error: nope: no such CA folder; create one with `tlsgate cert ca --out nope`\n");
  EXPECT_FALSE(fs::exists(path("x/private.key")));
}

TEST_F(CertIssue, BadUsageExitsTwo) {
  Proc weak = tg("cert issue --ca ca --out x --rsa 1024 x.example.com");
  EXPECT_EQ(weak.code, 2) << describe(weak);
  EXPECT_THAT(weak.err, HasSubstr("--rsa 1024"));
  EXPECT_FALSE(fs::exists(path("x/private.key")));
  Proc no_names = tg("cert issue --ca ca --out x");
  EXPECT_EQ(no_names.code, 2) << describe(no_names);
  Proc no_out = tg("cert ca");
  EXPECT_EQ(no_out.code, 2) << describe(no_out);
  Proc days = tg("cert ca --out c2 --days 0");
  EXPECT_EQ(days.code, 2) << describe(days);
  EXPECT_FALSE(fs::exists(path("c2/ca.key")));
}

TEST_F(CertIssue, OcspAndCrlUrlsAreWrittenIntoTheCertificate) {
  Proc r = tg_ok(
      "cert issue --ca ca --out s --ocsp-url http://127.0.0.1:8888/ocsp "
      "--ocsp-url http://ocsp2.example.com/ --crl-url http://crl.example.com/ca.crl "
      "db1.example.com localhost");
  EXPECT_EQ(r.out,
            "server certificate for db1.example.com, localhost written: s/public.crt, "
            "s/private.key\n");
  EXPECT_EQ(ext("s/public.crt", "authorityInfoAccess"),
            "Authority Information Access:|OCSP - URI:http://127.0.0.1:8888/ocsp|"
            "OCSP - URI:http://ocsp2.example.com/");
  EXPECT_EQ(ext("s/public.crt", "crlDistributionPoints"),
            "X509v3 CRL Distribution Points:|Full Name:|URI:http://crl.example.com/ca.crl");
  // openssl's OCSP client reads the responder from the certificate.
  EXPECT_EQ(trim(shell("openssl x509 -in s/public.crt -noout -ocsp_uri").out),
            "http://127.0.0.1:8888/ocsp\nhttp://ocsp2.example.com/");
  // The names are still the positionals, not eaten by the URL options.
  EXPECT_EQ(ext("s/public.crt", "subjectAltName"),
            "X509v3 Subject Alternative Name:|DNS:db1.example.com, DNS:localhost");
  EXPECT_EQ(openssl_verify("sslserver", "s/public.crt"), 0);
  // Without the options neither extension is there.
  tg_ok("cert issue --ca ca --out plain plain.example.com");
  EXPECT_THAT(x509_text("plain/public.crt"), Not(HasSubstr("Authority Information Access")));
  EXPECT_THAT(x509_text("plain/public.crt"), Not(HasSubstr("CRL Distribution Points")));
}

TEST_F(CertIssue, BadUrlsAreUsageErrors) {
  Proc ftp = tg("cert issue --ca ca --out x --ocsp-url ftp://ocsp.example.com x.example.com");
  EXPECT_EQ(ftp.code, 2) << describe(ftp);
  EXPECT_EQ(ftp.err,
            "tlsgate: error: --ocsp-url \"ftp://ocsp.example.com\": not an http:// or https:// "
            "URL; give a URL like http://ocsp.example.com/\n");
  Proc comma = tg("cert issue --ca ca --out x --crl-url 'http://a.example/x,y' x.example.com");
  EXPECT_EQ(comma.code, 2) << describe(comma);
  EXPECT_EQ(comma.err,
            "tlsgate: error: --crl-url \"http://a.example/x,y\": spaces, commas and control "
            "characters are not allowed; give a URL like http://ocsp.example.com/\n");
  Proc no_host = tg("cert issue --ca ca --out x --ocsp-url http:///path x.example.com");
  EXPECT_EQ(no_host.code, 2) << describe(no_host);
  EXPECT_THAT(no_host.err, HasSubstr("no host"));
  EXPECT_FALSE(fs::exists(path("x/private.key")));
}

TEST_F(CertIssue, OcspSigningCertificateIsADelegatedResponderForOpenssl) {
  Proc r = tg_ok("cert issue --ca ca --out responder --ocsp-signing ocsp.example.com");
  EXPECT_EQ(r.out,
            "OCSP responder certificate for ocsp.example.com written: responder/public.crt, "
            "responder/private.key\n");
  EXPECT_EQ(ext("responder/public.crt", "extendedKeyUsage"),
            "X509v3 Extended Key Usage:|OCSP Signing");
  EXPECT_EQ(ext("responder/public.crt", "keyUsage"),
            "X509v3 Key Usage: critical|Digital Signature");
  EXPECT_THAT(x509_text("responder/public.crt"), HasSubstr("OCSP No Check"));
  EXPECT_NE(openssl_verify("sslserver", "responder/public.crt"), 0) << "not a TLS server";
  tg_ok("cert issue --ca ca --out leaf --ocsp-url http://127.0.0.1:1/ db1.example.com");
  tg_ok("cert issue --ca ca --out plain plain.example.com");

  // openssl ocsp answers from an index file with each certificate as the
  // signer, and its client judges the answer with only ca.crt trusted.
  // openssl's index.txt holds serials in upper case, an even number of digits.
  std::string serial = openssl_serial(dir_, "leaf/public.crt");
  for (auto& c : serial) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (serial.size() % 2 != 0) serial = "0" + serial;
  test::write_text(path("index.txt"), "V\t301231000000Z\t\t" + serial + "\tunknown\t/CN=db1\n");
  ASSERT_EQ(
      shell("openssl ocsp -issuer ca/ca.crt -cert leaf/public.crt -no_nonce -reqout req.der").code,
      0);
  auto answer = [&](const std::string& signer) {
    Proc resp = shell("openssl ocsp -index index.txt -CA ca/ca.crt -rsigner " + signer +
                      "/public.crt -rkey " + signer + "/private.key -reqin req.der -respout " +
                      signer + ".der");
    EXPECT_EQ(resp.code, 0) << describe(resp);
    return shell("openssl ocsp -respin " + signer +
                 ".der -issuer ca/ca.crt -cert leaf/public.crt -CAfile ca/ca.crt");
  };
  Proc delegated = answer("responder");
  EXPECT_EQ(delegated.code, 0) << describe(delegated);
  EXPECT_THAT(delegated.out, HasSubstr("leaf/public.crt: good"));
  EXPECT_THAT(delegated.err, HasSubstr("Response verify OK"));
  // The same with a certificate of the CA that lacks OCSPSigning: refused.
  Proc refused = answer("plain");
  EXPECT_THAT(refused.err, HasSubstr("Response Verify Failure")) << describe(refused);
  EXPECT_THAT(refused.err, Not(HasSubstr("Response verify OK")));
}

TEST_F(CertIssue, OcspSigningCombinesWithServerAndClient) {
  Proc r = tg_ok("cert issue --ca ca --out all --server --client --ocsp-signing all.example.com");
  EXPECT_EQ(r.out,
            "server, client and OCSP responder certificate for all.example.com written: "
            "all/public.crt, all/private.key\n");
  EXPECT_EQ(ext("all/public.crt", "extendedKeyUsage"),
            "X509v3 Extended Key Usage:|TLS Web Server Authentication, TLS Web Client "
            "Authentication, OCSP Signing");
  EXPECT_EQ(openssl_verify("sslserver", "all/public.crt"), 0);
  EXPECT_EQ(openssl_verify("sslclient", "all/public.crt"), 0);
}

TEST_F(CertIssue, KeyFormatPkcs1ForOldStacks) {
  tg_ok("cert issue --ca ca --out rsa --rsa 2048 --key-format pkcs1 db1");
  std::string key = read_file(path("rsa/private.key"));
  EXPECT_EQ(key.rfind("-----BEGIN RSA "
                      "PRIVATE KEY-----\n",
                      0),
            0U)
      << key;
  EXPECT_EQ(mode_of(path("rsa/private.key")), 0600U);
  // openssl reads it as the certificate's key.
  EXPECT_EQ(openssl_pubkey_of_key(dir_, "rsa/private.key"),
            openssl_pubkey_of_cert(dir_, "rsa/public.crt"));
  tg_ok("cert issue --ca ca --out p8 --rsa 2048 --key-format pkcs8 db1");
  EXPECT_EQ(read_file(path("p8/private.key"))
                .rfind("-----BEGIN "
                       "PRIVATE KEY-----\n",
                       0),
            0U);
  // PKCS#1 is RSA only: an EC key is refused, not written as SEC1.
  Proc ec = tg("cert issue --ca ca --out ec --key-format pkcs1 db1");
  EXPECT_EQ(ec.code, 2);
  EXPECT_EQ(ec.err,
            "tlsgate: error: --key-format pkcs1: PKCS#1 holds RSA keys only and the new key would "
            "be ECDSA P-256; add --rsa 2048 or use --key-format pkcs8\n");
  EXPECT_FALSE(fs::exists(path("ec/private.key")));
  Proc bad = tg("cert issue --ca ca --out ec --key-format der db1");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--key-format der: unknown key format; use pkcs8"));
}

}  // namespace
}  // namespace tlsgate::e2e
