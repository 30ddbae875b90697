#include "pki/issuer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "pki/certificate_info.h"
#include "pki/pin.h"
#include "pki_test_util.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "util/strings.h"

namespace tlsgate::pki {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace test_util;
using namespace std::chrono_literals;

// Output and exit status of `openssl verify -purpose PURPOSE` for leaf under ca.
std::pair<int, std::string> openssl_verify(const X509* ca, const X509* leaf, const char* purpose) {
  test::TempDir dir;
  test::write_cert(dir / "ca.crt", ca);
  test::write_cert(dir / "leaf.crt", leaf);
  int rc = -1;
  std::string out = test::run_command("openssl verify -CAfile " + q(dir / "ca.crt") + " -purpose " +
                                          purpose + " " + q(dir / "leaf.crt"),
                                      &rc);
  auto prefix = (dir / "leaf.crt").string() + ": ";
  if (out.starts_with(prefix)) out = out.substr(prefix.size());
  return {rc, out};
}

TEST(PkiIssuer, ServerCertificatePassesOpensslVerifyAsServerOnly) {
  auto ca = test::make_test_ca();
  auto leaf = test::make_leaf(ca, {"db1.example.com", "10.0.0.1"});
  EXPECT_EQ(openssl_verify(ca.ca.cert.get(), leaf.cert.get(), "sslserver"),
            std::pair(0, std::string("OK\n")));
  auto [rc, out] = openssl_verify(ca.ca.cert.get(), leaf.cert.get(), "sslclient");
  EXPECT_NE(rc, 0);
  EXPECT_THAT(out, HasSubstr("unsuitable certificate purpose"));
}

TEST(PkiIssuer, ClientCertificatePassesOpensslVerifyAsClientOnly) {
  auto ca = test::make_test_ca();
  auto leaf = test::make_leaf(ca, {"app@example.com"}, /*server=*/false, /*client=*/true);
  EXPECT_EQ(openssl_verify(ca.ca.cert.get(), leaf.cert.get(), "sslclient"),
            std::pair(0, std::string("OK\n")));
  EXPECT_NE(openssl_verify(ca.ca.cert.get(), leaf.cert.get(), "sslserver").first, 0);
  auto info = describe(leaf.cert.get(), util::SystemClock::instance());
  EXPECT_THAT(info.extended_key_usage, ElementsAre("clientAuth"));
  EXPECT_THAT(info.key_usage, ElementsAre("digitalSignature"));
}

TEST(PkiIssuer, ServerAndClientCertificatePassesBoth) {
  auto ca = test::make_test_ca();
  auto leaf = test::make_leaf(ca, {"node1.cluster"}, true, true);
  EXPECT_EQ(openssl_verify(ca.ca.cert.get(), leaf.cert.get(), "sslserver").first, 0);
  EXPECT_EQ(openssl_verify(ca.ca.cert.get(), leaf.cert.get(), "sslclient").first, 0);
  auto info = describe(leaf.cert.get(), util::SystemClock::instance());
  EXPECT_THAT(info.extended_key_usage, ElementsAre("serverAuth", "clientAuth"));
}

TEST(PkiIssuer, NeitherServerNorClientMeansServer) {
  auto ca = test::make_test_ca();
  auto leaf = test::make_leaf(ca, {"db1"}, false, false);
  auto info = describe(leaf.cert.get(), util::SystemClock::instance());
  EXPECT_THAT(info.extended_key_usage, ElementsAre("serverAuth"));
}

TEST(PkiIssuer, RsaServerCertificateAddsKeyEncipherment) {
  auto ca = test::make_test_ca("RSA CA", rsa_key_spec(2048).value());
  auto leaf = test::make_leaf(ca, {"db1.example.com"}, true, false, {}, rsa_key_spec(2048).value());
  EXPECT_EQ(openssl_verify(ca.ca.cert.get(), leaf.cert.get(), "sslserver").first, 0);
  auto info = describe(leaf.cert.get(), util::SystemClock::instance());
  EXPECT_EQ(info.key_type, "RSA");
  EXPECT_EQ(info.key_bits, 2048);
  EXPECT_THAT(info.key_usage, ElementsAre("digitalSignature", "keyEncipherment"));
  EXPECT_EQ(describe(ca.ca.cert.get(), util::SystemClock::instance()).signature_algorithm,
            "sha256WithRSAEncryption");

  auto client = test::make_leaf(ca, {"app"}, false, true, {}, rsa_key_spec(2048).value());
  EXPECT_THAT(describe(client.cert.get(), util::SystemClock::instance()).key_usage,
              ElementsAre("digitalSignature"));
}

TEST(PkiIssuer, EcServerCertificateHasDigitalSignatureOnly) {
  auto ca = test::make_test_ca();
  auto leaf = test::make_leaf(ca, {"db1"});
  auto info = describe(leaf.cert.get(), util::SystemClock::instance());
  EXPECT_EQ(info.key_type, "EC");
  EXPECT_EQ(info.key_curve, "P-256");
  EXPECT_THAT(info.key_usage, ElementsAre("digitalSignature"));
  EXPECT_EQ(info.signature_algorithm, "ecdsa-with-SHA256");
}

TEST(PkiIssuer, CaCarriesCriticalBasicConstraintsAndKeyUsage) {
  auto ca = test::make_test_ca("Example Root");
  test::TempDir dir;
  test::write_cert(dir / "ca.crt", ca.ca.cert.get());
  std::string text = openssl_ok("openssl x509 -noout -text -in " + q(dir / "ca.crt"));
  EXPECT_THAT(text, HasSubstr("X509v3 Basic Constraints: critical\n                CA:TRUE\n"));
  EXPECT_THAT(
      text, HasSubstr("X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign\n"));
  EXPECT_THAT(text, HasSubstr("X509v3 Subject Key Identifier"));
  EXPECT_THAT(text, HasSubstr("X509v3 Authority Key Identifier"));
  EXPECT_THAT(text, HasSubstr("Subject: O = tlsgate, CN = Example Root\n"));
  auto info = describe(ca.ca.cert.get(), util::SystemClock::instance());
  EXPECT_TRUE(info.is_ca);
  EXPECT_TRUE(info.self_signed);
  EXPECT_THAT(info.key_usage, ElementsAre("keyCertSign", "cRLSign"));
  EXPECT_TRUE(info.extended_key_usage.empty());
}

TEST(PkiIssuer, LeafCarriesCriticalCaFalseAndKeyIdentifiers) {
  auto ca = test::make_test_ca();
  auto leaf = test::make_leaf(ca, {"db1.example.com"});
  test::TempDir dir;
  test::write_cert(dir / "leaf.crt", leaf.cert.get());
  std::string text = openssl_ok("openssl x509 -noout -text -in " + q(dir / "leaf.crt"));
  EXPECT_THAT(text, HasSubstr("X509v3 Basic Constraints: critical\n                CA:FALSE\n"));
  EXPECT_THAT(text, HasSubstr("X509v3 Key Usage: critical\n                Digital Signature\n"));
  EXPECT_THAT(
      text,
      HasSubstr("X509v3 Extended Key Usage: \n                TLS Web Server Authentication\n"));
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(ca.ca.cert.get());
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(leaf.cert.get());
  ASSERT_NE(ski, nullptr);
  ASSERT_NE(aki, nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(ski, aki), 0);
  EXPECT_NE(X509_get0_subject_key_id(leaf.cert.get()), nullptr);
  auto info = describe(leaf.cert.get(), util::SystemClock::instance());
  EXPECT_FALSE(info.is_ca);
  EXPECT_FALSE(info.self_signed);
  EXPECT_EQ(info.issuer, "CN=tlsgate test CA,O=tlsgate");
}

// A CA made elsewhere without a subjectKeyIdentifier: the leaf's authorityKeyIdentifier is
// still a key identifier (RFC 5280 4.2.1.1), the SHA-1 of the CA's key, and OpenSSL verifies it.
TEST(PkiIssuer, LeafOfACaWithoutSubjectKeyIdentifierNamesTheCasKey) {
  auto ca = test::make_test_ca("No SKI CA");
  X509* original = ca.ca.cert.get();
  int at = X509_get_ext_by_NID(original, NID_subject_key_identifier, -1);
  ASSERT_GE(at, 0);
  X509ExtensionPtr(X509_delete_ext(original, at));
  ASSERT_GT(X509_sign(original, ca.ca.key.get(), EVP_sha256()), 0);
  X509Ptr no_ski(X509_dup(original));  // OpenSSL caches the extensions it has seen
  ASSERT_EQ(X509_get0_subject_key_id(no_ski.get()), nullptr);

  CertRequest req;
  req.names = {"db1.example.com"};
  auto leaf = issue_certificate(req, no_ski.get(), ca.ca.key.get(), util::SystemClock::instance());
  ASSERT_TRUE(leaf) << leaf.error().message();
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(leaf->cert.get());
  ASSERT_NE(aki, nullptr);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ASSERT_EQ(X509_pubkey_digest(no_ski.get(), EVP_sha1(), md, &len), 1);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(aki)),
                        static_cast<size_t>(ASN1_STRING_length(aki))),
            std::string(reinterpret_cast<const char*>(md), len));
  test::TempDir dir;
  test::write_cert(dir / "ca.crt", no_ski.get());
  test::write_cert(dir / "leaf.crt", leaf->cert.get());
  EXPECT_THAT(openssl_ok("openssl verify -CAfile " + q(dir / "ca.crt") + " " + q(dir / "leaf.crt")),
              HasSubstr(": OK"));
}

TEST(PkiIssuer, SerialsArePositiveRandom128BitNumbers) {
  auto ca = test::make_test_ca();
  std::set<std::string> seen{describe(ca.ca.cert.get(), util::SystemClock::instance()).serial_hex};
  for (int i = 0; i < 16; ++i) {
    auto leaf = test::make_leaf(ca, {"db1"});
    BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf.cert.get()), nullptr));
    ASSERT_TRUE(bn);
    EXPECT_FALSE(BN_is_negative(bn.get()));
    EXPECT_FALSE(BN_is_zero(bn.get()));
    EXPECT_LE(BN_num_bits(bn.get()), 127);
    EXPECT_GT(BN_num_bits(bn.get()), 64);  // fails with probability 2^-63
    seen.insert(describe(leaf.cert.get(), util::SystemClock::instance()).serial_hex);
  }
  EXPECT_EQ(seen.size(), 17u);
}

TEST(PkiIssuer, SubjectIsFirstNameAndOrganisationTlsgate) {
  auto ca = test::make_test_ca();
  auto leaf = test::make_leaf(ca, {"db1.example.com", "db2.example.com"});
  auto info = describe(leaf.cert.get(), util::SystemClock::instance());
  EXPECT_EQ(info.subject, "CN=db1.example.com,O=tlsgate");
  EXPECT_EQ(info.subject_cn, "db1.example.com");
}

TEST(PkiIssuer, ANameLongerThanACnIsInTheSanOnly) {
  // A CN holds 64 characters: a cut name names nothing, so the CN is the
  // first name that fits, or there is none; the SAN has every name whole.
  auto ca = test::make_test_ca();
  std::string name = std::string(60, 'a') + ".example.com";
  auto leaf = test::make_leaf(ca, {name});
  auto info = describe(leaf.cert.get(), util::SystemClock::instance());
  EXPECT_EQ(info.subject_cn, "");
  EXPECT_THAT(info.san_dns, ElementsAre(name));
  auto both = test::make_leaf(ca, {name, "db1.example.com"});
  auto info2 = describe(both.cert.get(), util::SystemClock::instance());
  EXPECT_EQ(info2.subject_cn, "db1.example.com");
  EXPECT_THAT(info2.san_dns, ElementsAre(name, "db1.example.com"));
}

TEST(PkiIssuer, NamesBecomeSansOfTheirKind) {
  auto ca = test::make_test_ca();
  auto leaf = test::make_leaf(ca, {"db1.example.com", "*.db.example.com", "10.0.0.1", "::1",
                                   "admin@example.com", "spiffe://cluster/node1"});
  auto info = describe(leaf.cert.get(), util::SystemClock::instance());
  EXPECT_THAT(info.san_dns, ElementsAre("db1.example.com", "*.db.example.com"));
  EXPECT_THAT(info.san_ip, ElementsAre("10.0.0.1", "::1"));
  EXPECT_THAT(info.san_email, ElementsAre("admin@example.com"));
  EXPECT_THAT(info.san_uri, ElementsAre("spiffe://cluster/node1"));
  test::TempDir dir;
  test::write_cert(dir / "leaf.crt", leaf.cert.get());
  EXPECT_THAT(openssl_ok("openssl x509 -noout -ext subjectAltName -in " + q(dir / "leaf.crt")),
              HasSubstr("DNS:db1.example.com, DNS:*.db.example.com, IP Address:10.0.0.1, "
                        "IP Address:0:0:0:0:0:0:0:1, email:admin@example.com, "
                        "URI:spiffe://cluster/node1"));
}

TEST(PkiIssuer, DefaultValidityIsBackdatedOneHourAnd397DaysForLeaves) {
  util::FixedClock clock(std::chrono::sys_days(std::chrono::year(2030) / 6 / 1) + 12h);
  auto ca = create_ca(CaRequest{}, clock).value();
  auto ca_info = describe(ca.cert.get(), clock);
  EXPECT_EQ(ca_info.not_before, clock.now() - 1h);
  EXPECT_EQ(ca_info.not_after, clock.now() - 1h + std::chrono::days(3650));
  EXPECT_EQ(ca_info.subject, "CN=tlsgate CA,O=tlsgate");

  CertRequest req;
  req.names = {"db1"};
  auto leaf = issue_certificate(req, ca.cert.get(), ca.key.get(), clock).value();
  auto info = describe(leaf.cert.get(), clock);
  EXPECT_EQ(info.not_before, clock.now() - 1h);
  EXPECT_EQ(info.not_after, clock.now() - 1h + std::chrono::days(397));
  EXPECT_EQ(info.days_left, 396);
}

TEST(PkiIssuer, ExistingKeyIsReused) {
  auto ca = test::make_test_ca();
  auto first = test::make_leaf(ca, {"db1"});
  CertRequest req;
  req.names = {"db1"};
  req.existing_key = up_ref(first.key.get());
  auto renewed =
      issue_certificate(req, ca.ca.cert.get(), ca.ca.key.get(), util::SystemClock::instance());
  ASSERT_TRUE(renewed) << renewed.error().message();
  EXPECT_EQ(EVP_PKEY_eq(renewed->key.get(), first.key.get()), 1);
  EXPECT_EQ(spki_sha256(renewed->cert.get()), spki_sha256(first.cert.get()));
}

TEST(PkiIssuer, RefusesWithoutNamesOrWithBadName) {
  auto ca = test::make_test_ca();
  CertRequest req;
  auto r = issue_certificate(req, ca.ca.cert.get(), ca.ca.key.get(), util::SystemClock::instance());
  ASSERT_FALSE(r);
  EXPECT_EQ(
      r.error().message(),
      "a certificate needs at least one name; give a DNS name, IP address, email address or URI");
  req.names = {"db1", "bad name"};
  r = issue_certificate(req, ca.ca.cert.get(), ca.ca.key.get(), util::SystemClock::instance());
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), ::testing::StartsWith("\"bad name\" is not a valid DNS name"));
}

TEST(PkiIssuer, RefusesCaKeyThatDoesNotMatchOrCertificateThatIsNoCa) {
  auto ca = test::make_test_ca("Real CA");
  auto other = test::make_test_ca("Other CA");
  CertRequest req;
  req.names = {"db1"};
  auto r =
      issue_certificate(req, ca.ca.cert.get(), other.ca.key.get(), util::SystemClock::instance());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "the CA key does not match the CA certificate (CN=Real CA,O=tlsgate); use the key that "
            "was created with that CA certificate");
  auto leaf = test::make_leaf(ca, {"db1"});
  r = issue_certificate(req, leaf.cert.get(), leaf.key.get(), util::SystemClock::instance());
  ASSERT_FALSE(r);
  EXPECT_EQ(
      r.error().message(),
      "the CA certificate (CN=db1,O=tlsgate) is not a CA (no basicConstraints CA:TRUE); issue "
      "from a CA made with `tlsgate cert ca`");
}

TEST(PkiIssuer, RefusesValidityThatEndsBeforeItStarts) {
  auto ca = test::make_test_ca();
  CertRequest req;
  req.names = {"db1"};
  req.days = 0;
  auto r = issue_certificate(req, ca.ca.cert.get(), ca.ca.key.get(), util::SystemClock::instance());
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("before it starts"));
}

TEST(PkiIssuer, OcspSigningAloneIsADelegatedResponderOnly) {
  auto ca = test::make_test_ca();
  auto responder = test::make_ocsp_responder(ca, "ocsp.example.com");
  auto info = describe(responder.cert.get(), util::SystemClock::instance());
  EXPECT_THAT(info.extended_key_usage, ElementsAre("OCSPSigning"));
  EXPECT_THAT(info.key_usage, ElementsAre("digitalSignature"));
  EXPECT_GE(X509_get_ext_by_NID(responder.cert.get(), NID_id_pkix_OCSP_noCheck, -1), 0);
  EXPECT_EQ(openssl_verify(ca.ca.cert.get(), responder.cert.get(), "ocsphelper").first, 0);
  EXPECT_NE(openssl_verify(ca.ca.cert.get(), responder.cert.get(), "sslserver").first, 0);
  // Without it, no noCheck extension.
  auto leaf = test::make_leaf(ca, {"db1"});
  EXPECT_LT(X509_get_ext_by_NID(leaf.cert.get(), NID_id_pkix_OCSP_noCheck, -1), 0);
}

TEST(PkiIssuer, RefusesOcspAndCrlUrlsThatWouldNotSurviveTheExtensionSyntax) {
  auto ca = test::make_test_ca();
  CertRequest req;
  req.names = {"db1"};
  req.ocsp_urls = {"http://a.example/x,y"};
  auto comma =
      issue_certificate(req, ca.ca.cert.get(), ca.ca.key.get(), util::SystemClock::instance());
  ASSERT_FALSE(comma);
  EXPECT_EQ(comma.error().message(),
            "OCSP URL \"http://a.example/x,y\": spaces, commas and control characters are not "
            "allowed; give a URL like http://ocsp.example.com/");
  req.ocsp_urls = {};
  req.crl_urls = {"ldap://crl.example.com"};
  auto ldap =
      issue_certificate(req, ca.ca.cert.get(), ca.ca.key.get(), util::SystemClock::instance());
  ASSERT_FALSE(ldap);
  EXPECT_EQ(ldap.error().message(),
            "CRL URL \"ldap://crl.example.com\": not an http:// or https:// URL; give a URL like "
            "http://ocsp.example.com/");
  EXPECT_TRUE(check_extension_url("https://ocsp.example.com:8443/path?x=1;y", "--ocsp-url"));
  EXPECT_FALSE(check_extension_url("http://", "--ocsp-url"));
  EXPECT_FALSE(check_extension_url("http://a b", "--ocsp-url"));
  EXPECT_FALSE(check_extension_url("http://a\tb", "--ocsp-url"));
  EXPECT_FALSE(check_extension_url("http://" + std::string(1020, 'a'), "--ocsp-url"));
}

TEST(PkiIssuer, RsaKeySpecAcceptsOnlyCommonSizes) {
  for (int bits : {2048, 3072, 4096}) {
    auto spec = rsa_key_spec(bits);
    ASSERT_TRUE(spec);
    EXPECT_EQ(spec->type, KeySpec::Type::kRsa);
    EXPECT_EQ(spec->rsa_bits, bits);
  }
  auto bad = rsa_key_spec(1024);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "--rsa 1024: unsupported RSA key size; use 2048, 3072 or 4096");
  EXPECT_FALSE(generate_key(KeySpec{KeySpec::Type::kRsa, 1024}));
}

TEST(PkiIssuer, GeneratesP256AndRsaKeys) {
  auto ec = generate_key(KeySpec{}).value();
  EXPECT_EQ(EVP_PKEY_get_base_id(ec.get()), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(ec.get()), 256);
  auto rsa = generate_key(rsa_key_spec(3072).value()).value();
  EXPECT_EQ(EVP_PKEY_get_base_id(rsa.get()), EVP_PKEY_RSA);
  EXPECT_EQ(EVP_PKEY_get_bits(rsa.get()), 3072);
}

}  // namespace
}  // namespace tlsgate::pki
