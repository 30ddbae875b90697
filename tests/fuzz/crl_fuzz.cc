// parse_crls (pki/loader.h) on arbitrary PEM or DER (revoked_dir files),
// and the DER round trip of `cert convert`.
#include <openssl/x509.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "pki/certificate_info.h"
#include "pki/encode.h"
#include "pki/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tlsgate;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto crls = pki::parse_crls(in, "fuzz.crl");
  if (!crls) {
    FUZZ_CHECK(crls.error().message().rfind("fuzz.crl: ", 0) == 0);
    return 0;
  }
  FUZZ_CHECK(!crls->empty());
  if (pki::detect_encoding(in) == pki::Encoding::kDer) FUZZ_CHECK(crls->size() == 1);
  for (const auto& crl : *crls) {
    FUZZ_CHECK(crl != nullptr);
    // What check and the revocation code read from a CRL.
    (void)pki::name_to_string(X509_CRL_get_issuer(crl.get()));
    (void)pki::format_time(pki::to_system_time(X509_CRL_get0_lastUpdate(crl.get())));
    (void)pki::format_time(pki::to_system_time(X509_CRL_get0_nextUpdate(crl.get())));
    auto der = pki::crl_der(crl.get());
    FUZZ_CHECK(der.has_value());
    auto again = pki::parse_crls(*der, "fuzz.der");
    FUZZ_CHECK(again.has_value() && again->size() == 1);
    auto der2 = pki::crl_der(again->front().get());
    FUZZ_CHECK(der2.has_value() && *der2 == *der);
  }
  return 0;
}
