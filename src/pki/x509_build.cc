#include "pki/x509_build.h"

#include <openssl/rand.h>

#include <algorithm>
#include <iterator>

#include "pki/openssl_error.h"

namespace tlsgate::pki {

bool set_asn1_time(ASN1_TIME* time, util::SystemTime t) {
  return ASN1_TIME_set(time, std::chrono::system_clock::to_time_t(t)) != nullptr;
}

Asn1TimePtr make_asn1_time(util::SystemTime t) {
  return Asn1TimePtr(ASN1_TIME_set(nullptr, std::chrono::system_clock::to_time_t(t)));
}

util::Result<Asn1IntegerPtr> random_serial() {
  unsigned char bytes[16];
  clear_openssl_errors();
  do {
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
      return util::fail(openssl_error("cannot generate a random serial number"));
    }
    bytes[0] = static_cast<unsigned char>((bytes[0] & 0x7f) | 0x40);  // positive, always 127 bits
  } while (std::all_of(std::begin(bytes), std::end(bytes), [](unsigned char b) { return b == 0; }));
  BignumPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  Asn1IntegerPtr serial(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  if (!serial) return util::fail(openssl_error("cannot encode the serial number"));
  return serial;
}

util::Result<X509ExtensionPtr> make_extension(int nid, const std::string& value, const X509* issuer,
                                              X509* subject, X509_CRL* crl) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  // X509V3_set_ctx only reads the issuer (its key identifier) despite the non-const parameter.
  X509V3_set_ctx(&ctx, unconst(issuer), subject, nullptr, crl, 0);
  clear_openssl_errors();
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext) {
    return util::fail(openssl_error(std::string("cannot build the ") + OBJ_nid2sn(nid) +
                                    " extension \"" + value + "\""));
  }
  return ext;
}

util::Result<X509ExtensionPtr> authority_key_identifier(const X509* issuer) {
  clear_openssl_errors();
  AuthorityKeyIdPtr akid(AUTHORITY_KEYID_new());
  if (!akid) return util::fail(openssl_error("out of memory"));
  // X509_get0_subject_key_id only reads the certificate (filling its extension cache).
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(unconst(issuer)); ski != nullptr) {
    akid->keyid = ASN1_OCTET_STRING_dup(ski);
  } else {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    akid->keyid = ASN1_OCTET_STRING_new();
    if (akid->keyid != nullptr &&
        (X509_pubkey_digest(issuer, EVP_sha1(), md, &len) != 1 ||
         ASN1_OCTET_STRING_set(akid->keyid, md, static_cast<int>(len)) != 1)) {
      return util::fail(openssl_error("cannot compute the issuer's key identifier"));
    }
  }
  X509ExtensionPtr ext(akid->keyid == nullptr
                           ? nullptr
                           : X509V3_EXT_i2d(NID_authority_key_identifier, 0, akid.get()));
  if (!ext) return util::fail(openssl_error("cannot build the authorityKeyIdentifier extension"));
  return ext;
}

const EVP_MD* signature_digest(const EVP_PKEY* key) {
  int id = EVP_PKEY_get_base_id(key);
  return (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) ? nullptr : EVP_sha256();
}

}  // namespace tlsgate::pki
