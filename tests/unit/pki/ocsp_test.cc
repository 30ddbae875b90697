// pki/ocsp.h against real responses: a real `openssl ocsp` responder
// (support/ocsp_responder.h) answers, openssl's OCSP client fetches, and
// verify_ocsp_response judges. Every refusal is checked for its reason.
#include "pki/ocsp.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "pki/certificate_info.h"
#include "pki/chain_verify.h"
#include "pki_test_util.h"
#include "support/ocsp_responder.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"
#include "util/strings.h"

namespace tlsgate::pki {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace test_util;
using std::chrono::minutes;
using std::chrono::seconds;

class Ocsp : public ::testing::Test {
 protected:
  Ocsp()
      : ca_(test::make_test_ca("OCSP test CA")),
        leaf_(test::make_leaf(ca_, {"db1.example.com"})),
        other_leaf_(test::make_leaf(ca_, {"db2.example.com"})) {}

  // A started responder for ca_ in a folder of its own.
  test::OcspResponder& responder(test::OcspResponder::Options options = {}) {
    options.next_update_minutes = options.next_update_minutes.value_or(60);
    auto dir = dir_ / ("responder" + std::to_string(responders_.size()));
    responders_.push_back(std::make_unique<test::OcspResponder>(dir, ca_, std::move(options)));
    std::string why = responders_.back()->start();
    EXPECT_EQ(why, "");
    return *responders_.back();
  }

  util::Result<OcspAnswer> verify(const std::string& der, const X509* leaf,
                                  util::SystemTime now = std::chrono::system_clock::now()) {
    return verify_ocsp_response(der, leaf, ca_.ca.cert.get(), now);
  }

  // "OCSP response for CN=db1.example.com,O=tlsgate (serial ...)"
  static std::string about(const X509* cert) {
    return "OCSP response for " + subject_of(cert) + " (serial " + serial_to_hex(cert) + ")";
  }

  test::TempDir dir_;
  test::TestCa ca_;
  Issued leaf_;
  Issued other_leaf_;
  std::vector<std::unique_ptr<test::OcspResponder>> responders_;
};

TEST_F(Ocsp, UrlsComeFromTheAuthorityInformationAccess) {
  auto with = test::make_leaf(
      ca_, {"db1.example.com"},
      test::LeafOptions{.ocsp_urls = {"http://127.0.0.1:8080/", "http://ocsp.example.com/x"}});
  EXPECT_EQ(ocsp_urls(with.cert.get()),
            (std::vector<std::string>{"http://127.0.0.1:8080/", "http://ocsp.example.com/x"}));
  EXPECT_TRUE(ocsp_urls(leaf_.cert.get()).empty());
  // A CRL URL is not an OCSP URL.
  auto crl_only =
      test::make_leaf(ca_, {"db1"}, test::LeafOptions{.crl_urls = {"http://crl.example.com/"}});
  EXPECT_TRUE(ocsp_urls(crl_only.cert.get()).empty());
}

TEST_F(Ocsp, RequestHasOneSha1CertIdAndNoNonce) {
  auto der = ocsp_request_der(leaf_.cert.get(), ca_.ca.cert.get());
  ASSERT_TRUE(der) << der.error().message();
  ASSERT_TRUE(util::write_file_atomic(dir_ / "req.der", *der, 0644));
  std::string text = openssl_ok("openssl ocsp -reqin " + q(dir_ / "req.der") + " -req_text");
  EXPECT_THAT(text, HasSubstr("Hash Algorithm: sha1"));
  std::string serial = util::to_upper(serial_to_hex(leaf_.cert.get()));
  EXPECT_THAT(text, ::testing::AnyOf(HasSubstr("Serial Number: " + serial + "\n"),
                                     HasSubstr("Serial Number: 0" + serial + "\n")));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("Nonce")));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("Signature")));
  // Exactly one certificate asked about.
  size_t ids = 0;
  for (size_t at = 0; (at = text.find("Certificate ID:", at)) != std::string::npos; ++at) ++ids;
  EXPECT_EQ(ids, 1U);
}

TEST_F(Ocsp, RequestNeedsTheRealIssuer) {
  auto other = test::make_test_ca("Other CA");
  auto der = ocsp_request_der(leaf_.cert.get(), other.ca.cert.get());
  ASSERT_FALSE(der);
  EXPECT_EQ(der.error().message(),
            "OCSP request for CN=db1.example.com,O=tlsgate (serial " +
                serial_to_hex(leaf_.cert.get()) + "): CN=Other CA,O=tlsgate (serial " +
                serial_to_hex(other.ca.cert.get()) +
                ") is not its issuer; give the CA certificate that signed it");
}

TEST_F(Ocsp, GoodFromTheIssuerItself) {
  auto& r = responder();
  r.set_good(leaf_.cert.get());
  auto before = std::chrono::floor<seconds>(std::chrono::system_clock::now());
  std::string der = r.fetch(leaf_.cert.get());
  auto after = std::chrono::system_clock::now();
  auto answer = verify(der, leaf_.cert.get());
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_EQ(answer->status, OcspAnswer::Status::kGood);
  EXPECT_STREQ(status_name(answer->status), "good");
  EXPECT_GE(answer->this_update, before);
  EXPECT_LE(answer->this_update, after);
  ASSERT_TRUE(answer->next_update.has_value());
  EXPECT_EQ(*answer->next_update - answer->this_update, minutes(60));
  EXPECT_FALSE(answer->revoked_at.has_value());
  EXPECT_EQ(answer->reason, -1);
  EXPECT_EQ(answer->serial_hex, serial_to_hex(leaf_.cert.get()));
  EXPECT_EQ(answer->der, der);
}

TEST_F(Ocsp, RevokedWithTimeAndReason) {
  auto& r = responder();
  auto when = std::chrono::floor<seconds>(std::chrono::system_clock::now()) - std::chrono::hours(3);
  r.set_good(leaf_.cert.get());
  r.set_revoked(leaf_.cert.get(), when, "keyCompromise");
  auto answer = verify(r.fetch(leaf_.cert.get()), leaf_.cert.get());
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_EQ(answer->status, OcspAnswer::Status::kRevoked);
  EXPECT_STREQ(status_name(answer->status), "revoked");
  ASSERT_TRUE(answer->revoked_at.has_value());
  EXPECT_EQ(*answer->revoked_at, when);
  EXPECT_EQ(answer->reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
  EXPECT_EQ(revocation_reason_name(answer->reason), "keyCompromise");

  // Without a reason, and back to good: each index change is seen by the next request.
  r.set_revoked(leaf_.cert.get(), when, "");
  auto no_reason = verify(r.fetch(leaf_.cert.get()), leaf_.cert.get());
  ASSERT_TRUE(no_reason) << no_reason.error().message();
  EXPECT_EQ(no_reason->status, OcspAnswer::Status::kRevoked);
  EXPECT_EQ(no_reason->reason, -1);
  EXPECT_EQ(revocation_reason_name(no_reason->reason), "unspecified");
  r.set_good(leaf_.cert.get());
  auto good = verify(r.fetch(leaf_.cert.get()), leaf_.cert.get());
  ASSERT_TRUE(good) << good.error().message();
  EXPECT_EQ(good->status, OcspAnswer::Status::kGood);
}

TEST_F(Ocsp, UnknownWhenTheResponderDoesNotKnowIt) {
  auto& r = responder();
  r.set_good(other_leaf_.cert.get());
  auto answer = verify(r.fetch(leaf_.cert.get()), leaf_.cert.get());
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_EQ(answer->status, OcspAnswer::Status::kUnknown);
  EXPECT_STREQ(status_name(answer->status), "unknown");
}

TEST_F(Ocsp, DelegatedResponderWithOcspSigningIsAccepted) {
  auto delegated = test::make_ocsp_responder(ca_, "ocsp.example.com");
  auto& r = responder({.signer = &delegated});
  r.set_revoked(leaf_.cert.get(), std::chrono::system_clock::now() - std::chrono::hours(1));
  auto answer = verify(r.fetch(leaf_.cert.get()), leaf_.cert.get());
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_EQ(answer->status, OcspAnswer::Status::kRevoked);
}

TEST_F(Ocsp, CertIdWithSha256IsMatchedToo) {
  // openssl ocsp answers with the request's CertID. (Its -rcid, which would
  // rehash it, writes serial 0 in OpenSSL 3.0.)
  auto& r = responder();
  r.set_good(leaf_.cert.get());
  std::string der = r.fetch(leaf_.cert.get(), "sha256");
  ASSERT_TRUE(util::write_file_atomic(dir_ / "sha256.der", der, 0644));
  EXPECT_THAT(
      openssl_ok("openssl ocsp -respin " + q(dir_ / "sha256.der") + " -resp_text -noverify"),
      HasSubstr("Hash Algorithm: sha256"));
  auto answer = verify(der, leaf_.cert.get());
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_EQ(answer->status, OcspAnswer::Status::kGood);
}

TEST_F(Ocsp, ResponseForAnotherCertificateIsRefused) {
  auto& r = responder();
  r.set_good(other_leaf_.cert.get());
  auto answer = verify(r.fetch(other_leaf_.cert.get()), leaf_.cert.get());
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().message(),
            "OCSP response for CN=db1.example.com,O=tlsgate (serial " +
                serial_to_hex(leaf_.cert.get()) + ") answers for other certificates (serial " +
                serial_to_hex(other_leaf_.cert.get()) +
                "), not for this one; the responder or a cache mixed up certificates");
}

TEST_F(Ocsp, ResponderOfAnotherCaIsRefused) {
  auto other = test::make_test_ca("Other CA");
  auto foreign = test::make_ocsp_responder(other, "other-responder.test");
  auto& r = responder({.signer = &foreign});
  r.set_good(leaf_.cert.get());
  auto answer = verify(r.fetch(leaf_.cert.get()), leaf_.cert.get());
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().message(),
            about(leaf_.cert.get()) +
                " is signed by CN=other-responder.test,O=tlsgate, which is neither the issuer "
                "CN=OCSP test CA,O=tlsgate nor a delegated OCSP responder of it; ask the "
                "responder that serves this issuer");
}

TEST_F(Ocsp, SignerWithoutItsCertificateInTheResponseIsRefused) {
  auto delegated = test::make_ocsp_responder(ca_, "ocsp.example.com");
  auto& r = responder({.signer = &delegated, .extra = {"-resp_no_certs"}});
  r.set_good(leaf_.cert.get());
  auto answer = verify(r.fetch(leaf_.cert.get()), leaf_.cert.get());
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().message(),
            about(leaf_.cert.get()) +
                " is signed by CN=ocsp.example.com,O=tlsgate, which is neither the issuer "
                "CN=OCSP test CA,O=tlsgate nor a delegated OCSP responder of it (the response "
                "carries no certificate for it); ask the responder that serves this issuer");
}

TEST_F(Ocsp, AnotherKeyUnderTheIssuersNameIsRefused) {
  // Same subject as the real CA, another key: the ResponderID matches the
  // issuer's name, the signature does not.
  auto impostor = test::make_test_ca("OCSP test CA");
  auto& r = responder({.signer = &impostor.ca});
  r.set_good(leaf_.cert.get());
  auto answer = verify(r.fetch(leaf_.cert.get()), leaf_.cert.get());
  ASSERT_FALSE(answer);
  EXPECT_THAT(
      answer.error().message(),
      StartsWith(about(leaf_.cert.get()) + ": its signature does not verify with the key of "
                                           "CN=OCSP test CA,O=tlsgate"));
  EXPECT_THAT(answer.error().message(),
              HasSubstr("; the response was altered or signed by another key"));
}

TEST_F(Ocsp, DelegatedResponderWithoutOcspSigningIsRefused) {
  auto plain = test::make_leaf(ca_, {"plain.example.com"});
  auto& r = responder({.signer = &plain});
  r.set_good(leaf_.cert.get());
  auto answer = verify(r.fetch(leaf_.cert.get()), leaf_.cert.get());
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().message(),
            about(leaf_.cert.get()) + " is signed by CN=plain.example.com,O=tlsgate (serial " +
                serial_to_hex(plain.cert.get()) +
                "), a certificate of the issuer CN=OCSP test CA,O=tlsgate without "
                "extendedKeyUsage OCSPSigning, so not a delegated OCSP responder; issue the "
                "responder's certificate with OCSPSigning (`tlsgate cert issue --ocsp-signing`)");
}

TEST_F(Ocsp, ExpiredDelegatedResponderIsRefused) {
  auto now = std::chrono::system_clock::now();
  auto expired = test::make_ocsp_responder(
      ca_, "ocsp.example.com",
      test::Validity{now - std::chrono::days(30), now - std::chrono::days(1)});
  auto& r = responder({.signer = &expired});
  r.set_good(leaf_.cert.get());
  auto answer = verify(r.fetch(leaf_.cert.get()), leaf_.cert.get());
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().message(),
            about(leaf_.cert.get()) +
                " is signed by the delegated OCSP responder CN=ocsp.example.com,O=tlsgate "
                "(serial " +
                serial_to_hex(expired.cert.get()) + "), which is expired since " +
                format_time(to_system_time(X509_get0_notAfter(expired.cert.get()))) +
                "; renew the responder's certificate");
}

TEST_F(Ocsp, PassedNextUpdateIsRefused) {
  auto& r = responder({.next_update_minutes = 10});
  r.set_good(leaf_.cert.get());
  std::string der = r.fetch(leaf_.cert.get());
  auto fresh = verify(der, leaf_.cert.get());
  ASSERT_TRUE(fresh) << fresh.error().message();
  auto later = *fresh->next_update + seconds(1);
  auto answer = verify(der, leaf_.cert.get(), later);
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().message(), about(leaf_.cert.get()) + " has expired: its nextUpdate " +
                                          format_time(*fresh->next_update) + " has passed (now " +
                                          format_time(later) + "); fetch a fresh one");
  // Up to nextUpdate itself it is current.
  EXPECT_TRUE(verify(der, leaf_.cert.get(), *fresh->next_update));
}

TEST_F(Ocsp, ThisUpdateInTheFutureIsRefusedBeyondFiveMinutes) {
  auto& r = responder();
  r.set_good(leaf_.cert.get());
  std::string der = r.fetch(leaf_.cert.get());
  auto fresh = verify(der, leaf_.cert.get());
  ASSERT_TRUE(fresh) << fresh.error().message();
  // Our clock five minutes behind the responder's: still fine.
  EXPECT_TRUE(verify(der, leaf_.cert.get(), fresh->this_update - minutes(5)));
  auto earlier = fresh->this_update - minutes(5) - seconds(1);
  auto answer = verify(der, leaf_.cert.get(), earlier);
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().message(), about(leaf_.cert.get()) + ": its thisUpdate " +
                                          format_time(fresh->this_update) +
                                          " is in the future (now " + format_time(earlier) +
                                          "); check this machine's clock and the responder's");
}

TEST_F(Ocsp, NoNextUpdateNeverExpires) {
  // openssl ocsp without -nmin/-ndays leaves nextUpdate out.
  test::OcspResponder r(dir_ / "plain", ca_);
  ASSERT_EQ(r.start(), "");
  r.set_good(leaf_.cert.get());
  std::string der = r.fetch(leaf_.cert.get());
  auto answer =
      verify(der, leaf_.cert.get(), std::chrono::system_clock::now() + std::chrono::days(3650));
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_FALSE(answer->next_update.has_value());
}

TEST_F(Ocsp, WrongIssuerIsNamed) {
  auto& r = responder();
  r.set_good(leaf_.cert.get());
  auto other = test::make_test_ca("Other CA");
  auto answer = verify_ocsp_response(r.fetch(leaf_.cert.get()), leaf_.cert.get(),
                                     other.ca.cert.get(), std::chrono::system_clock::now());
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().message(), about(leaf_.cert.get()) + ": CN=Other CA,O=tlsgate (serial " +
                                          serial_to_hex(other.ca.cert.get()) +
                                          ") is not its issuer; give the CA certificate that "
                                          "signed it");
}

TEST_F(Ocsp, GarbageIsAnErrorNeverACrash) {
  auto not_der = verify("this is not DER", leaf_.cert.get());
  ASSERT_FALSE(not_der);
  EXPECT_THAT(not_der.error().message(),
              StartsWith(about(leaf_.cert.get()) + " is not a DER OCSP response ("));
  EXPECT_THAT(not_der.error().message(), HasSubstr("; the responder sent something else"));

  auto empty = verify("", leaf_.cert.get());
  ASSERT_FALSE(empty);
  EXPECT_THAT(empty.error().message(),
              StartsWith(about(leaf_.cert.get()) + " is not a DER OCSP response"));

  auto& r = responder();
  r.set_good(leaf_.cert.get());
  std::string der = r.fetch(leaf_.cert.get());
  auto trailing = verify(der + "xy", leaf_.cert.get());
  ASSERT_FALSE(trailing);
  EXPECT_EQ(trailing.error().message(), about(leaf_.cert.get()) +
                                            " has 2 bytes after its end; the responder sent "
                                            "something else");
  // Every truncation is refused, none crashes.
  for (size_t n = 0; n < der.size(); n += 7) {
    auto cut = verify(der.substr(0, n), leaf_.cert.get());
    EXPECT_FALSE(cut) << n;
  }
  // One flipped bit anywhere is refused (or, in a spot nothing reads, the same answer).
  for (size_t i = 0; i < der.size(); i += 11) {
    std::string bent = der;
    bent[i] = static_cast<char>(bent[i] ^ 0x01);
    auto answer = verify(bent, leaf_.cert.get());
    if (answer) {
      EXPECT_EQ(answer->status, OcspAnswer::Status::kGood) << i;
    }
  }

  std::string huge(kMaxOcspResponseSize + 1, '\x30');
  auto too_big = verify(huge, leaf_.cert.get());
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().message(),
            about(leaf_.cert.get()) +
                " is 65537 bytes, more than the 65536 an OCSP response may have; the responder "
                "sent something else");
}

TEST_F(Ocsp, UnsuccessfulResponseStatusIsRefused) {
  OcspResponsePtr resp(OCSP_response_create(OCSP_RESPONSE_STATUS_UNAUTHORIZED, nullptr));
  ASSERT_TRUE(resp);
  unsigned char* raw = nullptr;
  int len = i2d_OCSP_RESPONSE(resp.get(), &raw);
  ASSERT_GT(len, 0);
  OpensslBytes owned(raw);
  auto answer =
      verify(std::string(reinterpret_cast<char*>(raw), static_cast<size_t>(len)), leaf_.cert.get());
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().message(),
            about(leaf_.cert.get()) +
                ": the responder answered \"unauthorized\" (6) instead of a status; check that it "
                "serves the issuer CN=OCSP test CA,O=tlsgate");
}

TEST_F(Ocsp, ResponderGoesDownAndComesBackAtTheSameUrl) {
  auto& r = responder();
  std::string url = r.url();
  r.set_good(leaf_.cert.get());
  r.stop();
  EXPECT_FALSE(r.running());
  EXPECT_THROW(r.fetch(leaf_.cert.get()), std::runtime_error);
  // Index changes while it is down are read when it starts.
  r.forget(leaf_.cert.get());
  ASSERT_EQ(r.start(), "");
  EXPECT_EQ(r.url(), url);
  auto answer = verify(r.fetch(leaf_.cert.get()), leaf_.cert.get());
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_EQ(answer->status, OcspAnswer::Status::kUnknown);
}

TEST(PkiFindIssuer, FindsTheCaThatSignedNotOneWithTheSameName) {
  auto ca = test::make_test_ca("Issuer CA");
  auto twin = test::make_test_ca("Issuer CA");  // same name, other key
  auto other = test::make_test_ca("Other CA");
  auto leaf = test::make_leaf(ca, {"db1"});
  std::vector<X509Ptr> candidates;
  candidates.push_back(up_ref(other.ca.cert.get()));
  candidates.push_back(up_ref(twin.ca.cert.get()));
  candidates.push_back(up_ref(ca.ca.cert.get()));
  EXPECT_EQ(find_issuer(leaf.cert.get(), candidates), ca.ca.cert.get());
  candidates.pop_back();
  EXPECT_EQ(find_issuer(leaf.cert.get(), candidates), nullptr);
  EXPECT_EQ(find_issuer(leaf.cert.get(), {}), nullptr);
}

}  // namespace
}  // namespace tlsgate::pki
