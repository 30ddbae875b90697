// `tlsgate cert sign`: our CA signs requests made by `openssl req -new` (and by
// `cert csr`), taking only their names and key; `openssl verify` is the oracle.
#include <array>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e_helpers.h"

namespace tlsgate::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CertSign : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure()) return;
    tg_ok("cert ca --out ca --name 'Signing CA'");
  }
  std::string x509_text(const std::string& file) const {
    return shell("openssl x509 -in " + q(file) + " -noout -text").out;
  }
};

TEST_F(CertSign, OpensslRequestIsSignedAndVerifies) {
  Proc req = shell(
      "openssl req -new -newkey rsa:2048 -nodes -keyout app.key -out app.csr "
      "-subj '/C=XX/O=Elsewhere/CN=app.example.com' "
      "-addext subjectAltName=DNS:app.example.com,DNS:app,IP:127.0.0.1 "
      "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign "
      "-addext extendedKeyUsage=codeSigning -addext nsComment=copied 2>&1");
  ASSERT_EQ(req.code, 0) << describe(req);
  Proc r = tg_ok("cert sign --ca ca --out app.crt --client --server --days 30 app.csr");
  EXPECT_EQ(r.out,
            "signed app.csr for app.example.com, app, 127.0.0.1: app.crt (certificate, then the "
            "CA)\n");
  EXPECT_EQ(mode_of(path("app.crt")), 0644U);
  Proc v = shell("openssl verify -CAfile ca/ca.crt -purpose sslserver app.crt 2>&1");
  EXPECT_EQ(v.code, 0) << describe(v);
  EXPECT_EQ(shell("openssl verify -CAfile ca/ca.crt -purpose sslclient app.crt").code, 0);
  // Leaf then the CA.
  Proc leaf = shell("openssl x509 -in app.crt");
  EXPECT_EQ(read_file(path("app.crt")), leaf.out + read_file(path("ca/ca.crt")));

  std::string text = x509_text("app.crt");
  EXPECT_THAT(text, HasSubstr("DNS:app.example.com, DNS:app, IP Address:127.0.0.1"));
  EXPECT_THAT(text, HasSubstr("Subject: O = tlsgate, CN = app.example.com"));
  EXPECT_THAT(text, HasSubstr("CA:FALSE"));
  EXPECT_THAT(text, HasSubstr("TLS Web Server Authentication, TLS Web Client Authentication"));
  EXPECT_THAT(text, HasSubstr("Digital Signature, Key Encipherment"));
  EXPECT_THAT(text, Not(HasSubstr("Code Signing")));
  EXPECT_THAT(text, Not(HasSubstr("Certificate Sign")));
  EXPECT_THAT(text, Not(HasSubstr("copied")));
  EXPECT_THAT(text, Not(HasSubstr("Elsewhere")));
  // The key is the request's.
  EXPECT_EQ(openssl_pubkey_of_cert(dir_, "app.crt"), openssl_pubkey_of_key(dir_, "app.key"));
  // 30 days (plus the hour notBefore is backdated).
  Proc days = shell(
      "echo $(( ($(date -d \"$(openssl x509 -in app.crt -noout -enddate | cut -d= -f2)\" +%s) - "
      "$(date -d \"$(openssl x509 -in app.crt -noout -startdate | cut -d= -f2)\" +%s)) / 86400 ))");
  EXPECT_EQ(trim(days.out), "30");
}

TEST_F(CertSign, OwnRequestRoundTrip) {
  tg_ok("cert csr --out req --client alice@example.com");
  tg_ok("cert sign --ca ca --out req/public.crt --client req/request.csr");
  EXPECT_EQ(shell("openssl verify -CAfile ca/ca.crt -purpose sslclient req/public.crt").code, 0);
  EXPECT_EQ(openssl_pubkey_of_cert(dir_, "req/public.crt"),
            openssl_pubkey_of_key(dir_, "req/private.key"));
  EXPECT_THAT(x509_text("req/public.crt"), HasSubstr("email:alice@example.com"));
}

TEST_F(CertSign, ANameTooLongForTheCommonNameIsRequestedAndSignedInTheSanOnly) {
  std::string long_dns = std::string(63, 'a') + "." + std::string(61, 'b') + ".example";
  tg_ok("cert csr --out req " + long_dns);
  Proc req = shell("openssl req -in req/request.csr -noout -verify -subject 2>&1");
  EXPECT_EQ(req.code, 0) << describe(req);
  EXPECT_THAT(req.out, Not(HasSubstr("CN")));
  tg_ok("cert sign --ca ca --out req/public.crt req/request.csr");
  EXPECT_EQ(trim(shell("openssl x509 -in req/public.crt -noout -subject").out),
            "subject=O = tlsgate");
  EXPECT_THAT(x509_text("req/public.crt"), HasSubstr("DNS:" + long_dns));
  EXPECT_EQ(
      shell("openssl verify -CAfile ca/ca.crt -verify_hostname " + long_dns + " req/public.crt")
          .code,
      0);
}

TEST_F(CertSign, AnExpiredCaSignsNothingAndALeafNeverOutlivesItsCa) {
  // An expired CA, made by `openssl ca -selfsign` (tlsgate makes none).
  test::write_text(path("old.cnf"),
                   "[ca]\ndefault_ca = c\n[c]\ndatabase = old.index\nnew_certs_dir = old\n"
                   "serial = old.serial\ndefault_md = sha256\npolicy = any\nx509_extensions = "
                   "v3\n[any]\ncommonName = supplied\n[v3]\nbasicConstraints = critical,CA:TRUE\n"
                   "keyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n");
  Proc ca = shell(
      "mkdir old && touch old.index && echo 01 > old.serial && openssl req -new -newkey ec "
      "-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout old/ca.key -out old.csr -subj '/CN=Old CA' "
      "2>&1 && openssl ca -batch -notext -config old.cnf -selfsign -keyfile old/ca.key -in old.csr "
      "-out old/ca.crt -startdate 20200101000000Z -enddate 20210101000000Z 2>&1");
  ASSERT_EQ(ca.code, 0) << describe(ca);
  tg_ok("cert csr --out req app.example.com");
  Proc r = tg("cert sign --ca old --out app.crt req/request.csr");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("ca.crt: the CA certificate (CN=Old CA) expired on 2021-01-01 "
                               "00:00:00 UTC (valid 2020-01-01 00:00:00 UTC to 2021-01-01 "
                               "00:00:00 UTC); nothing it signs now would verify; make a new CA"));
  EXPECT_FALSE(fs::exists(path("app.crt")));

  // A 30-day CA signs for 30 days at most, and says so.
  tg_ok("cert ca --out short --days 30");
  Proc capped = tg_ok("cert sign --ca short --out app.crt --days 397 req/request.csr");
  EXPECT_THAT(capped.err,
              HasSubstr("tlsgate: warning: the certificate for app.example.com ends on "));
  EXPECT_THAT(capped.err, HasSubstr("not 397 days from now; renew the CA before then\n"));
  EXPECT_EQ(shell("openssl x509 -in app.crt -noout -enddate").out,
            shell("openssl x509 -in short/ca.crt -noout -enddate").out);
  EXPECT_EQ(shell("openssl verify -CAfile short/ca.crt -purpose sslserver app.crt").code, 0);
}

// Bytes after the request are corruption, as for a certificate file: refused, the file named.
TEST_F(CertSign, TrailingBytesAfterTheRequestAreRefused) {
  tg_ok("cert csr --out req db1");
  Proc der = shell(
      "openssl req -in req/request.csr -outform DER -out r.der && "
      "cp r.der trailing.der && printf 'extra' >> trailing.der && "
      "cat r.der r.der > twice.der");
  ASSERT_EQ(der.code, 0) << describe(der);
  Proc r = tg("cert sign --ca ca --out x.crt trailing.der");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "tlsgate: error: trailing.der: truncated or corrupted certificate request: 5 bytes "
            "after the request; give a file that holds the request alone\n");
  EXPECT_FALSE(fs::exists(path("x.crt")));
  size_t size = fs::file_size(path("r.der"));
  Proc twice = tg("cert sign --ca ca --out x.crt twice.der");
  EXPECT_EQ(twice.code, 1);
  EXPECT_THAT(twice.err, HasSubstr("twice.der: truncated or corrupted certificate request: " +
                                   std::to_string(size) + " bytes after the request"));
  // Two PEM requests in one file: which one was meant is not guessed.
  shell("cat req/request.csr req/request.csr > two.csr");
  Proc two = tg("cert sign --ca ca --out x.crt two.csr");
  EXPECT_EQ(two.code, 1);
  EXPECT_EQ(two.err,
            "tlsgate: error: two.csr: holds 2 certificate requests; give one request per file\n");
  EXPECT_FALSE(fs::exists(path("x.crt")));
  // The request alone is fine.
  tg_ok("cert sign --ca ca --out x.crt r.der");
}

TEST_F(CertSign, TamperedOrForeignInputIsRefused) {
  tg_ok("cert csr --out req db1");
  // Flip one byte inside the DER of the request's signed part.
  Proc flip = shell(
      "openssl req -in req/request.csr -outform DER -out r.der && "
      "python3 -c \"import sys; b=bytearray(open('r.der','rb').read()); b[40]^=1; "
      "open('bad.der','wb').write(b)\"");
  ASSERT_EQ(flip.code, 0) << describe(flip);
  Proc bad = tg("cert sign --ca ca --out x.crt bad.der");
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, ::testing::AnyOf(HasSubstr("the request's signature does not verify"),
                                        HasSubstr("bad.der: not a DER certificate request")));
  EXPECT_FALSE(fs::exists(path("x.crt")));
  Proc cert = tg("cert sign --ca ca --out x.crt ca/ca.crt");
  EXPECT_EQ(cert.code, 1);
  EXPECT_THAT(cert.err, HasSubstr("ca/ca.crt: not a PEM certificate request"));
  Proc small =
      shell("openssl req -new -newkey rsa:1024 -nodes -keyout s.key -out s.csr -subj /CN=s 2>&1");
  ASSERT_EQ(small.code, 0) << describe(small);
  Proc weak = tg("cert sign --ca ca --out x.crt s.csr");
  EXPECT_EQ(weak.code, 1);
  EXPECT_EQ(weak.err,
            "tlsgate: error: s.csr: the request holds an RSA key of 1024 bits; tlsgate certifies "
            "only RSA keys of at least 2048 bits and ECDSA keys on P-256, P-384 or P-521 (what "
            "TLS clients accept); ask for a new request with such a key\n");
}

TEST_F(CertSign, KeysTlsClientsRejectAreRefusedLikeForIssue) {
  for (const auto& [name, newkey, what] : std::vector<std::array<std::string, 3>>{
           {"k1", "-newkey ec -pkeyopt ec_paramgen_curve:secp256k1", "an EC key on secp256k1"},
           {"ed", "-newkey ed25519", "an ED25519 key"}}) {
    Proc req = shell("openssl req -new " + newkey + " -nodes -keyout " + name + ".key -out " +
                     name + ".csr -subj /CN=" + name + ".example.com 2>&1");
    ASSERT_EQ(req.code, 0) << describe(req);
    Proc r = tg("cert sign --ca ca --out " + name + ".crt " + name + ".csr");
    EXPECT_EQ(r.code, 1) << describe(r);
    EXPECT_EQ(r.err, "tlsgate: error: " + name + ".csr: the request holds " + what +
                         "; tlsgate certifies only RSA keys of at least 2048 bits and ECDSA keys "
                         "on P-256, P-384 or P-521 (what TLS clients accept); ask for a new "
                         "request with such a key\n");
    EXPECT_FALSE(fs::exists(path(name + ".crt")));
  }
  Proc p384 = shell(
      "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout p.key -out "
      "p.csr -subj /CN=p.example.com 2>&1");
  ASSERT_EQ(p384.code, 0) << describe(p384);
  tg_ok("cert sign --ca ca --out p.crt p.csr");
  EXPECT_EQ(shell("openssl verify -CAfile ca/ca.crt -purpose sslserver p.crt").code, 0);
  EXPECT_THAT(x509_text("p.crt"), HasSubstr("NIST CURVE: P-384"));
}

TEST_F(CertSign, OwnRequestsWithAReusedKeyFollowTheSameRule) {
  fs::create_directories(path("req"));
  ASSERT_EQ(shell("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out "
                  "req/private.key")
                .code,
            0);
  Proc r = tg("cert csr --out req --reuse-key db1.example.com");
  EXPECT_EQ(r.code, 1) << describe(r);
  EXPECT_THAT(r.err, HasSubstr("the key to reuse is an EC key on secp256k1; tlsgate certifies "
                               "only RSA keys of at least 2048 bits and ECDSA keys on P-256"));
  EXPECT_FALSE(fs::exists(path("req/request.csr")));
}

}  // namespace
}  // namespace tlsgate::e2e
