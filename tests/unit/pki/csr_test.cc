// pki/csr.h: requests we make, requests we sign (and what we refuse to copy from them).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include "pki/certificate_info.h"
#include "pki/csr.h"
#include "pki_test_util.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace tlsgate::pki {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace test_util;

TEST(PkiCsr, RequestAsksForWhatIssueWouldPutInAndOpensslVerifiesIt) {
  CsrRequest req;
  req.names = {"db1.example.com", "10.0.0.5", "ops@example.com"};
  req.client = true;
  req.server = true;
  req.key = rsa_key_spec(2048).value();
  auto csr = create_csr(req);
  ASSERT_TRUE(csr) << csr.error().message();
  test::TempDir dir;
  ASSERT_TRUE(util::write_file_atomic(dir / "r.csr", csr_pem(csr->request.get()).value(), 0644));
  std::string text =
      openssl_ok("openssl req -verify -noout -text -in " + q(dir / "r.csr") + " 2>&1");
  EXPECT_THAT(text, HasSubstr("verify OK"));
  EXPECT_THAT(text, HasSubstr("Subject: CN = db1.example.com"));
  EXPECT_THAT(text, HasSubstr("DNS:db1.example.com, IP Address:10.0.0.5, email:ops@example.com"));
  EXPECT_THAT(text, HasSubstr("TLS Web Server Authentication, TLS Web Client Authentication"));
  EXPECT_THAT(text, HasSubstr("Digital Signature, Key Encipherment"));
  EXPECT_THAT(text, HasSubstr("CA:FALSE"));
  EXPECT_EQ(requested_names(csr->request.get(), "r.csr").value(),
            (std::vector<std::string>{"db1.example.com", "10.0.0.5", "ops@example.com"}));
}

TEST(PkiCsr, ReusedKeyKeepsThePublicKey) {
  auto key = generate_key({}).value();
  CsrRequest req;
  req.names = {"db1"};
  req.existing_key = up_ref(key.get());
  auto csr = create_csr(req).value();
  EXPECT_EQ(EVP_PKEY_eq(X509_REQ_get0_pubkey(csr.request.get()), key.get()), 1);
}

// A request made by openssl that asks to be a CA with a foreign subject gets a leaf of ours.
TEST(PkiCsr, SigningTakesOnlyNamesAndKeyFromTheRequest) {
  test::TempDir dir;
  openssl_ok("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
             q(dir / "k.pem") + " -out " + q(dir / "r.csr") +
             " -subj '/O=Evil/CN=evil.example' -addext subjectAltName=DNS:api.example.com,IP:::1 "
             "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign "
             "-addext extendedKeyUsage=codeSigning 2>&1");
  auto req = parse_csr(read(dir / "r.csr"), "r.csr");
  ASSERT_TRUE(req) << req.error().message();
  auto ca = test::make_test_ca();
  SignRequest how;
  auto cert = sign_csr(req->get(), "r.csr", how, ca.ca.cert.get(), ca.ca.key.get(),
                       util::SystemClock::instance());
  ASSERT_TRUE(cert) << cert.error().message();
  auto info = describe(cert->get(), util::SystemClock::instance());
  EXPECT_THAT(info.san_dns, ElementsAre("api.example.com"));
  EXPECT_THAT(info.san_ip, ElementsAre("::1"));
  EXPECT_FALSE(info.is_ca);
  EXPECT_THAT(info.extended_key_usage, ElementsAre("serverAuth"));
  EXPECT_EQ(info.subject, "CN=api.example.com,O=tlsgate");
  EXPECT_THAT(info.key_usage, Not(::testing::Contains("keyCertSign")));
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert->get()), X509_REQ_get0_pubkey(req->get())), 1);

  test::write_cert(dir / "ca.crt", ca.ca.cert.get());
  test::write_cert(dir / "leaf.crt", cert->get());
  openssl_ok("openssl verify -CAfile " + q(dir / "ca.crt") + " " + q(dir / "leaf.crt"));
}

TEST(PkiCsr, WithoutSanTheSubjectCnIsTheName) {
  test::TempDir dir;
  openssl_ok("openssl req -new -newkey rsa:2048 -nodes -keyout " + q(dir / "k.pem") + " -out " +
             q(dir / "r.csr") + " -subj '/CN=legacy.example' 2>&1");
  auto req = parse_csr(read(dir / "r.csr"), "r.csr").value();
  EXPECT_THAT(requested_names(req.get(), "r.csr").value(), ElementsAre("legacy.example"));
}

TEST(PkiCsr, AlteredRequestIsRefused) {
  CsrRequest r;
  r.names = {"db1"};
  auto csr = create_csr(r).value();
  // Change the subject after signing: the signature no longer covers it.
  X509NamePtr other(X509_NAME_new());
  X509_NAME_add_entry_by_txt(other.get(), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("other"), -1, -1, 0);
  X509_REQ_set_subject_name(csr.request.get(), other.get());
  auto ca = test::make_test_ca();
  auto cert = sign_csr(csr.request.get(), "in.csr", SignRequest{}, ca.ca.cert.get(),
                       ca.ca.key.get(), util::SystemClock::instance());
  ASSERT_FALSE(cert);
  EXPECT_EQ(cert.error().message(),
            "in.csr: the request's signature does not verify (altered after it was made, or not "
            "signed by its own key); ask for a new request");
}

TEST(PkiCsr, ParseErrorsNameTheSource) {
  auto empty = parse_csr("", "x.csr");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message(),
            "x.csr: empty file; expected a PEM or DER certificate request");
  auto cert = parse_csr(pem(test::make_test_ca().ca.cert.get()), "x.csr");
  ASSERT_FALSE(cert);
  EXPECT_THAT(cert.error().message(), HasSubstr("x.csr: not a PEM certificate request"));
  EXPECT_FALSE(parse_csr("garbage", "x.csr"));
}

TEST(PkiCsr, BytesAfterTheRequestAreRefused) {
  CsrRequest request;
  request.names = {"db1.example.com"};
  auto csr = create_csr(request).value();
  unsigned char* raw = nullptr;
  int len = i2d_X509_REQ(csr.request.get(), &raw);
  ASSERT_GT(len, 0);
  OpensslBytes owned(raw);
  std::string der(reinterpret_cast<const char*>(raw), static_cast<size_t>(len));
  ASSERT_TRUE(parse_csr(der, "r.der"));
  auto trailing = parse_csr(der + "\n\n\n", "r.der");
  ASSERT_FALSE(trailing);
  EXPECT_EQ(trailing.error().message(),
            "r.der: truncated or corrupted certificate request: 3 bytes after the request; give "
            "a file that holds the request alone");
  // Inside a PEM block too: the block's DER must be the request alone.
  std::string text = csr_pem(csr.request.get()).value();
  ASSERT_TRUE(parse_csr(text, "r.csr"));
  std::string padded = der + std::string(4, '\0');
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_GT(PEM_write_bio(bio.get(), "CERTIFICATE REQUEST", "",
                          reinterpret_cast<const unsigned char*>(padded.data()),
                          static_cast<long>(padded.size())),
            0);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  auto inside = parse_csr(std::string(data, static_cast<size_t>(size)), "r.csr");
  ASSERT_FALSE(inside);
  EXPECT_THAT(inside.error().message(),
              HasSubstr("r.csr: truncated or corrupted certificate request: 4 bytes after"));
}

TEST(PkiKeyFormat, Pkcs1ForRsaOnly) {
  auto rsa = generate_key(rsa_key_spec(2048).value()).value();
  auto text = private_key_pkcs1_pem(rsa.get());
  ASSERT_TRUE(text) << text.error().message();
  EXPECT_THAT(*text, HasSubstr("-----BEGIN RSA "
                               "PRIVATE KEY-----"));
  auto ec = generate_key({}).value();
  auto refused = private_key_pkcs1_pem(ec.get());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message(),
            "PKCS#1 holds RSA keys only; this is an EC key: use --key-format pkcs8, or --rsa BITS "
            "for an RSA key");
  EXPECT_EQ(parse_key_format("pkcs1").value(), KeyFormat::kPkcs1);
  EXPECT_FALSE(parse_key_format("pem"));
}

}  // namespace
}  // namespace tlsgate::pki
