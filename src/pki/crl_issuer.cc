#include "pki/crl_issuer.h"

#include "pki/certificate_info.h"
#include "pki/openssl_error.h"
#include "pki/x509_build.h"

namespace tlsgate::pki {
namespace {

constexpr auto kDefaultCrlLifetime = std::chrono::days(7);

util::Status add_revoked(X509_CRL* crl, const X509* cert, const ASN1_TIME* when) {
  X509RevokedPtr entry(X509_REVOKED_new());
  bool ok =
      entry &&
      X509_REVOKED_set_serialNumber(entry.get(), unconst(X509_get0_serialNumber(cert))) == 1 &&
      X509_REVOKED_set_revocationDate(entry.get(), unconst(when)) == 1 &&
      X509_CRL_add0_revoked(crl, entry.get()) == 1;
  if (!ok) {
    return util::fail(openssl_error("cannot add the certificate " + subject_of(cert) + " (serial " +
                                    serial_to_hex(cert) + ") to the CRL"));
  }
  entry.release();  // now owned by the CRL
  return {};
}

}  // namespace

util::Result<X509CrlPtr> create_crl(const X509* ca_cert, const EVP_PKEY* ca_key,
                                    const std::vector<const X509*>& revoked,
                                    const util::Clock& clock,
                                    std::optional<util::SystemTime> this_update,
                                    std::optional<util::SystemTime> next_update) {
  if (EVP_PKEY_eq(X509_get0_pubkey(ca_cert), ca_key) != 1) {
    clear_openssl_errors();
    return util::fail("the CA key does not match the CA certificate (" + subject_of(ca_cert) +
                      "); use the key that was created with that CA certificate");
  }
  auto last = this_update.value_or(clock.now());
  auto next = next_update.value_or(last + kDefaultCrlLifetime);
  Asn1TimePtr last_time = make_asn1_time(last);
  Asn1TimePtr next_time = make_asn1_time(next);
  Asn1IntegerPtr number(ASN1_INTEGER_new());
  clear_openssl_errors();
  X509CrlPtr crl(X509_CRL_new());
  bool ok = crl && last_time && next_time && number && ASN1_INTEGER_set(number.get(), 1) == 1 &&
            X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) == 1 &&
            X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca_cert)) == 1 &&
            X509_CRL_set1_lastUpdate(crl.get(), last_time.get()) == 1 &&
            X509_CRL_set1_nextUpdate(crl.get(), next_time.get()) == 1;
  if (!ok) return util::fail(openssl_error("cannot build the CRL"));
  for (const X509* cert : revoked) {
    if (auto st = add_revoked(crl.get(), cert, last_time.get()); !st) return util::fail(st.error());
  }
  X509_CRL_sort(crl.get());
  auto aki =
      make_extension(NID_authority_key_identifier, "keyid:always", ca_cert, nullptr, crl.get());
  if (!aki) return util::fail(aki.error());
  clear_openssl_errors();
  if (X509_CRL_add_ext(crl.get(), aki->get(), -1) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1) {
    return util::fail(openssl_error("cannot add the CRL extensions"));
  }
  // X509_CRL_sign only reads the key; OpenSSL 3.0 lacks the const.
  if (X509_CRL_sign(crl.get(), unconst(ca_key), signature_digest(ca_key)) <= 0) {
    return util::fail(openssl_error("cannot sign the CRL"));
  }
  return crl;
}

}  // namespace tlsgate::pki
