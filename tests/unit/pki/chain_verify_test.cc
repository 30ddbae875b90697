#include "pki/chain_verify.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pki/certificate_info.h"
#include "pki/crl_issuer.h"
#include "pki/encode.h"
#include "pki/issuer.h"
#include "support/test_pki.h"

namespace tlsgate::pki {
namespace {

using namespace std::chrono_literals;
using Purpose = VerifyOptions::Purpose;

VerifyOptions crl_check() {
  VerifyOptions options;
  options.check_crls = true;
  return options;
}

VerifyOptions for_purpose(Purpose purpose) {
  VerifyOptions options;
  options.purpose = purpose;
  return options;
}

constexpr auto kChainStart = std::chrono::sys_days(std::chrono::year(2020) / 1 / 1);

class PkiVerifier : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = test::make_test_ca("Verify CA");
    leaf_ = test::make_leaf(ca_, {"db1.example.com", "*.db.example.com", "10.0.0.1"});
    trusted_.push_back(up_ref(ca_.ca.cert.get()));
  }

  // "certificate CN=...,O=tlsgate (serial ...): " for cert.
  static std::string who(const X509* cert) {
    return "certificate " + subject_of(cert) + " (serial " + serial_to_hex(cert) + "): ";
  }

  std::string error_of(const X509* leaf, const VerifyOptions& options,
                       const std::vector<X509CrlPtr>& crls = {}) {
    auto st = verify_chain(leaf, {}, trusted_, crls, options);
    EXPECT_FALSE(st);
    return st ? std::string() : st.error().message();
  }

  test::TestCa ca_;
  Issued leaf_;
  std::vector<X509Ptr> trusted_;
};

TEST_F(PkiVerifier, AcceptsALeafIssuedByATrustedCa) {
  EXPECT_TRUE(verify_chain(leaf_.cert.get(), {}, trusted_, {}, {}));
  EXPECT_TRUE(verify_chain(leaf_.cert.get(), {}, trusted_, {}, for_purpose(Purpose::kServer)));
  // The CA itself is trusted as is.
  EXPECT_TRUE(verify_chain(ca_.ca.cert.get(), {}, trusted_, {}, {}));
}

TEST_F(PkiVerifier, ExpiredCertificate) {
  CaRequest old_ca_req;
  old_ca_req.not_before = kChainStart;
  auto old_ca = test::TestCa{create_ca(old_ca_req, util::SystemClock::instance()).value(), "old"};
  trusted_.push_back(up_ref(old_ca.ca.cert.get()));
  auto old = test::make_leaf(old_ca, {"db1"}, true, false,
                             test::Validity{kChainStart, kChainStart + std::chrono::days(30)});
  EXPECT_EQ(
      error_of(old.cert.get(), {}),
      who(old.cert.get()) + "certificate has expired (notAfter 2020-01-31 00:00:00 UTC); renew it");
  // ... but it was fine in its time.
  VerifyOptions then;
  then.at = kChainStart + std::chrono::days(1);
  EXPECT_TRUE(verify_chain(old.cert.get(), {}, trusted_, {}, then));
  VerifyOptions no_time;
  no_time.check_time = false;
  EXPECT_TRUE(verify_chain(old.cert.get(), {}, trusted_, {}, no_time));
}

TEST_F(PkiVerifier, NotYetValidCertificate) {
  auto future = std::chrono::sys_days(std::chrono::year(2099) / 1 / 1);
  auto later = test::make_leaf(ca_, {"db1"}, true, false,
                               test::Validity{future, future + std::chrono::days(1)});
  EXPECT_EQ(error_of(later.cert.get(), {}),
            who(later.cert.get()) +
                "certificate is not yet valid (notBefore 2099-01-01 00:00:00 UTC); "
                "check this machine's clock, or wait until then");
}

TEST_F(PkiVerifier, UnknownIssuer) {
  auto other = test::make_test_ca("Other CA");
  auto stranger = test::make_leaf(other, {"db1"});
  EXPECT_EQ(error_of(stranger.cert.get(), {}),
            who(stranger.cert.get()) +
                "unable to get local issuer certificate (issuer CN=Other CA,"
                "O=tlsgate); put the issuer's certificate into the trusted folder");
}

TEST_F(PkiVerifier, UntrustedSelfSignedCertificate) {
  auto other = test::make_test_ca("Lonely CA");
  EXPECT_EQ(error_of(other.ca.cert.get(), {}),
            who(other.ca.cert.get()) +
                "self-signed certificate; put this certificate into the trusted "
                "folder if you trust it");
}

TEST_F(PkiVerifier, PartialChainTrustsALeafInTheTrustedSet) {
  std::vector<X509Ptr> only_leaf;
  only_leaf.push_back(up_ref(leaf_.cert.get()));
  EXPECT_TRUE(verify_chain(leaf_.cert.get(), {}, only_leaf, {}, {}));
  VerifyOptions strict;
  strict.partial_chain = false;
  EXPECT_FALSE(verify_chain(leaf_.cert.get(), {}, only_leaf, {}, strict));
}

TEST_F(PkiVerifier, UntrustedCertificatesCompleteTheChain) {
  // The CA sent along with the leaf does not make it trusted.
  std::vector<X509Ptr> sent;
  sent.push_back(up_ref(ca_.ca.cert.get()));
  auto st = verify_chain(leaf_.cert.get(), sent, {}, {}, {});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), who(ca_.ca.cert.get()) +
                                      "self-signed certificate in certificate chain; put the root "
                                      "certificate into the trusted folder if you trust it");
}

TEST_F(PkiVerifier, RevokedCertificate) {
  auto crl = create_crl(ca_.ca.cert.get(), ca_.ca.key.get(), {leaf_.cert.get()},
                        util::SystemClock::instance());
  std::vector<X509CrlPtr> crls;
  crls.push_back(std::move(crl.value()));
  EXPECT_EQ(error_of(leaf_.cert.get(), crl_check(), crls),
            who(leaf_.cert.get()) + "certificate revoked; issue a new certificate to replace it");
  // Without CRL checks the revocation is not looked at.
  EXPECT_TRUE(verify_chain(leaf_.cert.get(), {}, trusted_, crls, {}));
  // Another leaf of the same CA is fine.
  auto good = test::make_leaf(ca_, {"db2"});
  EXPECT_TRUE(verify_chain(good.cert.get(), {}, trusted_, crls, crl_check()));
}

TEST_F(PkiVerifier, MissingOrExpiredCrl) {
  EXPECT_EQ(error_of(leaf_.cert.get(), crl_check()),
            who(leaf_.cert.get()) +
                "unable to get certificate CRL (no CRL from CN=Verify CA,O=tlsgate); "
                "put the issuer's CRL into the revoked folder, or turn revocation "
                "checks off");
  std::vector<X509CrlPtr> crls;
  crls.push_back(create_crl(ca_.ca.cert.get(), ca_.ca.key.get(), {}, util::SystemClock::instance(),
                            kChainStart, kChainStart + std::chrono::days(7))
                     .value());
  EXPECT_EQ(error_of(leaf_.cert.get(), crl_check(), crls),
            who(leaf_.cert.get()) +
                "CRL has expired (nextUpdate 2020-01-08 00:00:00 UTC); fetch a fresh "
                "CRL from the issuer into the revoked folder");
}

TEST_F(PkiVerifier, CrlOfAnotherCaDoesNotCount) {
  auto other = test::make_test_ca("Other CA");
  std::vector<X509CrlPtr> crls;
  crls.push_back(
      create_crl(other.ca.cert.get(), other.ca.key.get(), {}, util::SystemClock::instance())
          .value());
  EXPECT_THAT(error_of(leaf_.cert.get(), crl_check(), crls),
              ::testing::HasSubstr("unable to get certificate CRL"));
}

TEST_F(PkiVerifier, HostnameAndIpMustBeListed) {
  for (const char* ok : {"db1.example.com", "DB1.example.com", "x.db.example.com", "10.0.0.1"}) {
    VerifyOptions options;
    options.hostname = ok;
    EXPECT_TRUE(verify_chain(leaf_.cert.get(), {}, trusted_, {}, options)) << ok;
  }
  VerifyOptions options;
  options.hostname = "db2.example.com";
  EXPECT_EQ(error_of(leaf_.cert.get(), options),
            who(leaf_.cert.get()) +
                "hostname mismatch (wanted db2.example.com; it lists "
                "DNS:db1.example.com, DNS:*.db.example.com, IP:10.0.0.1); connect "
                "with a name the certificate lists, or reissue it with this name");
  options.hostname = "a.b.db.example.com";  // a wildcard covers one label only
  EXPECT_FALSE(verify_chain(leaf_.cert.get(), {}, trusted_, {}, options));
  options.hostname = "10.0.0.2";
  EXPECT_EQ(error_of(leaf_.cert.get(), options),
            who(leaf_.cert.get()) +
                "IP address mismatch (wanted 10.0.0.2; it lists "
                "DNS:db1.example.com, DNS:*.db.example.com, IP:10.0.0.1); connect "
                "with a name the certificate lists, or reissue it with this name");
}

TEST_F(PkiVerifier, PurposeMustMatch) {
  auto client = test::make_leaf(ca_, {"app"}, false, true);
  EXPECT_TRUE(verify_chain(client.cert.get(), {}, trusted_, {}, for_purpose(Purpose::kClient)));
  EXPECT_EQ(error_of(client.cert.get(), for_purpose(Purpose::kServer)),
            who(client.cert.get()) +
                "unsuitable certificate purpose (not for TLS servers); reissue it "
                "with --server");
  EXPECT_EQ(error_of(leaf_.cert.get(), for_purpose(Purpose::kClient)),
            who(leaf_.cert.get()) +
                "unsuitable certificate purpose (not for TLS clients); reissue it "
                "with --client");
}

TEST_F(PkiVerifier, AlteredCertificateFailsItsSignature) {
  std::string der = certificate_der(leaf_.cert.get()).value();
  auto at = der.find("db1.example.com");
  ASSERT_NE(at, std::string::npos);
  der[at + 2] = '9';  // the SAN now says db9: no longer what the CA signed
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr copy(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_TRUE(copy);
  auto st = verify_chain(copy.get(), {}, trusted_, {}, {});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(),
            who(copy.get()) +
                "certificate signature failure; the certificate was altered or signed by "
                "another key, reissue it");
}

}  // namespace
}  // namespace tlsgate::pki
