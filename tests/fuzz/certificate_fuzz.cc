// parse_certificates (pki/loader.h) on arbitrary PEM or DER, then what the
// gate and the tools do with a certificate they read: describe() (cert
// inspect, check, metrics), SPKI pins, the identity mappings of
// identity_from, and the PEM/DER round trip of `cert convert`. The same
// bytes as a certificate request (pki/csr.h: `cert sign` reads one sent by
// someone else).
#include <openssl/x509.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "config/settings.h"
#include "fuzz_check.h"
#include "pki/certificate_info.h"
#include "pki/convert.h"
#include "pki/csr.h"
#include "pki/encode.h"
#include "pki/loader.h"
#include "pki/pin.h"
#include "tls/peer_identity.h"

namespace {

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tlsgate;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto csr = pki::parse_csr(in, "fuzz.csr"); !csr) {
    FUZZ_CHECK(starts_with(csr.error().message(), "fuzz.csr: "));
  } else {
    FUZZ_CHECK(*csr != nullptr);
  }
  auto certs = pki::parse_certificates(in, "fuzz.crt");
  if (!certs) {
    FUZZ_CHECK(starts_with(certs.error().message(), "fuzz.crt: "));
    return 0;
  }
  FUZZ_CHECK(!certs->empty());
  if (pki::detect_encoding(in) == pki::Encoding::kDer) FUZZ_CHECK(certs->size() == 1);

  // A fixed clock: the same input must take the same paths on every run.
  util::FixedClock clock(util::SystemTime(std::chrono::seconds(1'767'225'600)));  // 2026-01-01
  for (const auto& cert : *certs) {
    FUZZ_CHECK(cert != nullptr);
    auto info = pki::describe(cert.get(), clock);
    // A pin is SHA-256, or nothing for a key OpenSSL cannot decode (such a
    // certificate never completes a handshake, so it can match no pin).
    auto pin = pki::spki_sha256(cert.get());
    FUZZ_CHECK(pin.size() == 32 || (pin.empty() && X509_get0_pubkey(cert.get()) == nullptr));
    FUZZ_CHECK(info.pin_hex.size() == 2 * pin.size());
    (void)pki::format_time(info.not_before);
    (void)pki::format_time(info.not_after);
    for (auto from : {config::IdentityFrom::kSubject, config::IdentityFrom::kCn,
                      config::IdentityFrom::kSanEmail, config::IdentityFrom::kSanDns,
                      config::IdentityFrom::kSanUri}) {
      (void)tls::identities_of(cert.get(), from);
    }

    // DER out and back in gives the same certificate.
    auto der = pki::certificate_der(cert.get());
    FUZZ_CHECK(der.has_value());
    auto again = pki::parse_certificates(*der, "fuzz.der");
    FUZZ_CHECK(again.has_value() && again->size() == 1);
    auto der2 = pki::certificate_der(again->front().get());
    FUZZ_CHECK(der2.has_value() && *der2 == *der);
  }

  // `cert convert` on the same bytes: a single certificate converts both ways.
  auto pem = pki::convert(in, "fuzz.crt", pki::Encoding::kPem);
  if (certs->size() == 1 && pem) {
    auto der = pki::convert(pem->data, "fuzz.pem", pki::Encoding::kDer);
    FUZZ_CHECK(der.has_value());
    auto pem2 = pki::convert(der->data, "fuzz.der", pki::Encoding::kPem);
    FUZZ_CHECK(pem2.has_value() && pem2->data == pem->data);
  }
  return 0;
}
