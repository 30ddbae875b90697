#include "pki/acme_challenge.h"

#include <chrono>
#include <string>

#include <openssl/objects.h>
#include <openssl/sha.h>

#include "pki/issuer.h"
#include "pki/openssl_error.h"
#include "pki/subject_names.h"
#include "pki/x509_build.h"

namespace tlsgate::pki {

namespace {

using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, Free<ASN1_OBJECT_free>>;

}  // namespace

util::Result<ChallengeCertificate> make_tls_alpn01_certificate(std::string_view identifier,
                                                               std::string_view key_authorization) {
  std::string id(identifier);
  auto fail = [&](const util::Error& e) {
    return util::fail(e.prefixed("TLS-ALPN-01 certificate for \"" + id + "\""));
  };
  auto names = classify_names({id});
  if (!names) return fail(names.error());
  if (!names->email.empty() || !names->uri.empty() || id.starts_with("*.")) {
    return fail(util::Error("an ACME identifier is a DNS name or an IP address"));
  }
  auto key = generate_key(KeySpec{});
  if (!key) return fail(key.error());
  auto serial = random_serial();
  if (!serial) return fail(serial.error());
  auto now = std::chrono::system_clock::now();
  clear_openssl_errors();
  X509Ptr cert(X509_new());
  X509NamePtr subject(X509_NAME_new());
  bool ok = cert && subject &&
            X509_NAME_add_entry_by_txt(subject.get(), "CN", MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>("acme-tls-alpn-01"),
                                       -1, -1, 0) == 1 &&
            X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
            X509_set_serialNumber(cert.get(), serial->get()) == 1 &&
            X509_set_subject_name(cert.get(), subject.get()) == 1 &&
            X509_set_issuer_name(cert.get(), subject.get()) == 1 &&
            set_asn1_time(X509_getm_notBefore(cert.get()), now - std::chrono::hours(1)) &&
            set_asn1_time(X509_getm_notAfter(cert.get()), now + std::chrono::hours(24 * 7)) &&
            X509_set_pubkey(cert.get(), key->get()) == 1;
  if (!ok) return fail(openssl_error("cannot build the certificate"));
  auto gens = make_general_names(*names);
  if (!gens) return fail(gens.error());
  if (X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, gens->get(), 0, X509V3_ADD_DEFAULT) !=
      1) {
    return fail(openssl_error("cannot add the subjectAltName extension"));
  }
  // extnValue = DER of OCTET STRING (SHA-256 of the key authorization).
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key_authorization.data()), key_authorization.size(),
         digest);
  Asn1OctetStringPtr inner(ASN1_OCTET_STRING_new());
  if (!inner || ASN1_OCTET_STRING_set(inner.get(), digest, sizeof digest) != 1) {
    return fail(openssl_error("cannot build the acmeIdentifier value"));
  }
  unsigned char* der = nullptr;
  int der_len = i2d_ASN1_OCTET_STRING(inner.get(), &der);
  if (der_len <= 0) return fail(openssl_error("cannot encode the acmeIdentifier value"));
  OpensslBytes der_owner(der);
  Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
  Asn1ObjectPtr oid(OBJ_txt2obj(kAcmeIdentifierOid, 1));
  if (!value || !oid || ASN1_OCTET_STRING_set(value.get(), der, der_len) != 1) {
    return fail(openssl_error("cannot build the acmeIdentifier extension"));
  }
  X509ExtensionPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 1, value.get()));
  if (!ext || X509_add_ext(cert.get(), ext.get(), -1) != 1) {
    return fail(openssl_error("cannot add the acmeIdentifier extension"));
  }
  if (X509_sign(cert.get(), key->get(), EVP_sha256()) <= 0) {
    return fail(openssl_error("cannot sign the certificate"));
  }
  return ChallengeCertificate{std::move(cert), std::move(*key)};
}

}  // namespace tlsgate::pki
