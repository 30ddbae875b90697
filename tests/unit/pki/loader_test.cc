#include "pki/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "loader_fixture.h"
#include "pki/crl_issuer.h"
#include "pki/private_key_loader.h"
#include "pki_test_util.h"

namespace tlsgate::pki {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace test_util;

class PkiLoader : public LoaderFixture {};

TEST_F(PkiLoader, DetectsEncoding) {
  EXPECT_EQ(detect_encoding("junk\n-----BEGIN CERTIFICATE-----\n"), Encoding::kPem);
  EXPECT_EQ(detect_encoding(std::string("\x30\x82\x01\x00", 4)), Encoding::kDer);
}

TEST_F(PkiLoader, ReadsPemBundleInOrderIgnoringTextAroundBlocks) {
  std::string bundle =
      "subject=leaf\n" + pem(leaf_.cert.get()) + "\nissuer comment\n" + pem(ca_.ca.cert.get());
  auto certs = load_certificates(file("bundle.pem", bundle));
  ASSERT_TRUE(certs) << certs.error().message();
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_EQ(X509_cmp((*certs)[0].get(), leaf_.cert.get()), 0);
  EXPECT_EQ(X509_cmp((*certs)[1].get(), ca_.ca.cert.get()), 0);
}

TEST_F(PkiLoader, ReadsDerCertificateMadeByOpenssl) {
  openssl_ok("openssl x509 -in " + q(dir_ / "leaf.crt") + " -outform DER -out " +
             q(dir_ / "leaf.der"));
  auto certs = load_certificates(dir_ / "leaf.der");
  ASSERT_TRUE(certs) << certs.error().message();
  ASSERT_EQ(certs->size(), 1u);
  EXPECT_EQ(X509_cmp((*certs)[0].get(), leaf_.cert.get()), 0);
}

TEST_F(PkiLoader, ReadsTrustedCertificateBlocks) {
  openssl_ok("openssl x509 -in " + q(dir_ / "ca.crt") + " -addtrust serverAuth -trustout -out " +
             q(dir_ / "trusted.pem"));
  EXPECT_THAT(read(dir_ / "trusted.pem"), HasSubstr("BEGIN TRUSTED CERTIFICATE"));
  auto certs = load_certificates(dir_ / "trusted.pem");
  ASSERT_TRUE(certs) << certs.error().message();
  EXPECT_EQ(X509_cmp((*certs)[0].get(), ca_.ca.cert.get()), 0);
}

TEST_F(PkiLoader, EmptyFilesSayWhatWasExpected) {
  EXPECT_EQ(error_of_certs("empty.crt", ""),
            path("empty.crt") + ": empty file; expected a PEM or DER certificate");
  EXPECT_EQ(error_of_certs("blank.crt", " \n\n"),
            path("blank.crt") + ": empty file; expected a PEM or DER certificate");
  EXPECT_EQ(error_of_key("empty.key", ""),
            path("empty.key") + ": empty file; expected a PEM or DER private key");
  auto crls = load_crls(file("empty.crl", ""));
  ASSERT_FALSE(crls);
  EXPECT_EQ(crls.error().message(), path("empty.crl") + ": empty file; expected a PEM or DER CRL");
}

TEST_F(PkiLoader, MissingFileIsNamed) {
  auto r = load_certificates(dir_ / "nope.crt");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), path("nope.crt") + ": no such file");
}

TEST_F(PkiLoader, TruncatedPemCertificate) {
  std::string text = pem(leaf_.cert.get());
  EXPECT_EQ(error_of_certs("cut.crt", text.substr(0, text.size() / 2)),
            path("cut.crt") + ": truncated or corrupted certificate: bad end line");
}

TEST_F(PkiLoader, CorruptedPemCertificate) {
  std::string text = pem(leaf_.cert.get());
  text[40] = text[40] == 'A' ? 'B' : 'A';  // inside the outer SEQUENCE header
  text[41] = text[41] == 'A' ? 'B' : 'A';
  EXPECT_THAT(error_of_certs("bad.crt", text),
              StartsWith(path("bad.crt") + ": truncated or corrupted certificate: "));
  EXPECT_EQ(
      error_of_certs("b64.crt", "-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n"),
      path("b64.crt") + ": truncated or corrupted certificate: bad base64 decode");
}

TEST_F(PkiLoader, TruncatedDerCertificate) {
  std::string der = certificate_der(leaf_.cert.get()).value();
  EXPECT_EQ(error_of_certs("cut.der", der.substr(0, der.size() - 10)),
            path("cut.der") +
                ": truncated or corrupted certificate: too long; bad object header; "
                "nested asn1 error (Type=X509)");
  EXPECT_EQ(error_of_certs("long.der", der + "xx"),
            path("long.der") +
                ": truncated or corrupted certificate: unexpected bytes after the end of "
                "the DER object");
}

TEST_F(PkiLoader, TextThatIsNoPemSaysSo) {
  EXPECT_EQ(error_of_certs("notes.txt", "hello\n"),
            path("notes.txt") +
                ": not a PEM or DER certificate (no -----BEGIN CERTIFICATE----- line); "
                "check that this is the right file");
  EXPECT_EQ(error_of_key("notes.key", "hello\n"),
            path("notes.key") +
                ": not a PEM or DER private key (no -----BEGIN "
                "PRIVATE KEY----- line); "
                "check that this is the right file");
}

TEST_F(PkiLoader, WrongBlockKindIsNamed) {
  EXPECT_EQ(error_of_certs("key.crt", read(dir_ / "leaf.key")),
            path("key.crt") + ": not a certificate (found a PRIVATE KEY block)");
  EXPECT_EQ(error_of_key("cert.key", read(dir_ / "leaf.crt")),
            path("cert.key") + ": not a private key (found a CERTIFICATE block)");
  std::string der = certificate_der(leaf_.cert.get()).value();
  EXPECT_EQ(error_of_key("cert.der", der),
            path("cert.der") + ": not a private key (found a DER certificate)");
  auto crls = load_crls(dir_ / "leaf.crt");
  ASSERT_FALSE(crls);
  EXPECT_EQ(crls.error().message(), path("leaf.crt") + ": not a CRL (found a CERTIFICATE block)");
}

TEST_F(PkiLoader, ReadsCrlsPemBundleAndDer) {
  auto crl1 = create_crl(ca_.ca.cert.get(), ca_.ca.key.get(), {leaf_.cert.get()},
                         util::SystemClock::instance())
                  .value();
  auto other = test::make_test_ca("Other CA");
  auto crl2 = create_crl(other.ca.cert.get(), other.ca.key.get(), {}, util::SystemClock::instance())
                  .value();
  auto bundle = file("all.crl", crl_pem(crl1.get()).value() + crl_pem(crl2.get()).value());
  auto crls = load_crls(bundle);
  ASSERT_TRUE(crls) << crls.error().message();
  ASSERT_EQ(crls->size(), 2u);
  EXPECT_EQ(X509_CRL_cmp((*crls)[1].get(), crl2.get()), 0);

  file("one.crl", crl_pem(crl1.get()).value());
  openssl_ok("openssl crl -in " + q(dir_ / "one.crl") + " -outform DER -out " +
             q(dir_ / "one.der"));
  auto der = load_crls(dir_ / "one.der");
  ASSERT_TRUE(der) << der.error().message();
  ASSERT_EQ(der->size(), 1u);
  EXPECT_EQ(X509_CRL_get_ext_count((*der)[0].get()), 2);
}

TEST_F(PkiLoader, CertificateFolderSkipsDotfilesAndSubfolders) {
  test::TempDir trusted;
  test::write_cert(trusted / "b.crt", ca_.ca.cert.get());
  test::write_cert(trusted / "a.pem", leaf_.cert.get());
  test::write_text(trusted / ".hidden", "junk");
  std::filesystem::create_directory(trusted / "sub");
  std::filesystem::create_symlink(trusted / "b.crt", trusted / "link.0");
  auto certs = load_certificates_dir(trusted.path());
  ASSERT_TRUE(certs) << certs.error().message();
  ASSERT_EQ(certs->size(), 3u);  // a.pem, b.crt, link.0 in name order
  EXPECT_EQ(X509_cmp((*certs)[0].get(), leaf_.cert.get()), 0);
  EXPECT_EQ(X509_cmp((*certs)[2].get(), ca_.ca.cert.get()), 0);

  test::write_text(trusted / "c.crt", "garbage\n");
  auto bad = load_certificates_dir(trusted.path());
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message(),
              StartsWith((trusted / "c.crt").string() + ": not a PEM or DER certificate"));
}

TEST_F(PkiLoader, FoldersMustExistButMayBeEmpty) {
  test::TempDir empty;
  EXPECT_TRUE(load_certificates_dir(empty.path()).value().empty());
  EXPECT_TRUE(load_crls_dir(empty.path()).value().empty());
  auto missing = load_certificates_dir(empty / "trusted");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), (empty / "trusted").string() +
                                           ": no such folder; create it and put the trusted CA "
                                           "certificate files in it (it may stay empty)");
  auto missing_crls = load_crls_dir(empty / "revoked");
  ASSERT_FALSE(missing_crls);
  EXPECT_EQ(missing_crls.error().message(),
            (empty / "revoked").string() +
                ": no such folder; create it and put the CRL files in it "
                "(it may stay empty)");
  auto not_dir = load_crls_dir(dir_ / "leaf.crt");
  ASSERT_FALSE(not_dir);
  EXPECT_EQ(not_dir.error().message(),
            path("leaf.crt") + ": not a folder; it must be a folder of CRL files");
}

TEST_F(PkiLoader, CrlFolderReadsEveryFile) {
  test::TempDir revoked;
  auto crl =
      create_crl(ca_.ca.cert.get(), ca_.ca.key.get(), {}, util::SystemClock::instance()).value();
  test::write_text(revoked / "ca.crl", crl_pem(crl.get()).value());
  test::write_text(revoked / "ca.der", crl_der(crl.get()).value());
  EXPECT_EQ(load_crls_dir(revoked.path()).value().size(), 2u);
}

TEST_F(PkiLoader, CrlFilesKeepTheirFileInNameOrder) {
  test::TempDir revoked;
  auto crl =
      create_crl(ca_.ca.cert.get(), ca_.ca.key.get(), {}, util::SystemClock::instance()).value();
  auto pem = crl_pem(crl.get()).value();
  test::write_text(revoked / "b.crl", pem + pem);  // two CRLs in one file
  test::write_text(revoked / "a.der", crl_der(crl.get()).value());
  test::write_text(revoked / ".hidden", "skipped\n");
  auto files = load_crl_files_dir(revoked.path());
  ASSERT_TRUE(files) << files.error().message();
  ASSERT_EQ(files->size(), 3u);
  EXPECT_EQ((*files)[0].file, revoked / "a.der");
  EXPECT_EQ((*files)[1].file, revoked / "b.crl");
  EXPECT_EQ((*files)[2].file, revoked / "b.crl");
  for (const auto& f : *files) EXPECT_EQ(X509_CRL_cmp(f.crl.get(), crl.get()), 0);
  test::write_text(revoked / "c.crl", "garbage\n");
  auto bad = load_crl_files_dir(revoked.path());
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message(), StartsWith((revoked / "c.crl").string() + ": not a PEM"));
}

TEST_F(PkiLoader, KeyMatchesItsCertificateOnly) {
  EXPECT_TRUE(check_key_matches(leaf_.cert.get(), leaf_.key.get(), "public.crt", "private.key"));
  auto other = test::make_leaf(ca_, {"db2"});
  auto st = check_key_matches(leaf_.cert.get(), other.key.get(), "public.crt", "private.key");
  ASSERT_FALSE(st);
  EXPECT_EQ(
      st.error().message(),
      "private.key does not match the certificate in public.crt (CN=db1.example.com,O=tlsgate); "
      "use the key the certificate was issued for, or reissue the certificate");
  auto rsa = load_private_key(pkcs1_rsa_key(), {}).value();
  EXPECT_FALSE(check_key_matches(leaf_.cert.get(), rsa.get(), "c", "k"));
}

}  // namespace
}  // namespace tlsgate::pki
