// PKCS#12 key stores, in and out (the keytool / JKS-style store of the guides).
//
// Written with AES-256-CBC and PBKDF2 (OpenSSL 3 defaults), readable by
// `openssl pkcs12` and Java's keytool. An empty password is allowed and means
// no encryption of the key bag.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pki/handles.h"
#include "util/result.h"
#include "util/secret.h"

namespace tlsgate::pki {

util::Result<std::string> write_pkcs12(const X509* cert, const EVP_PKEY* key,
                                       const std::vector<X509Ptr>& chain,
                                       const util::Secret& password,
                                       const std::string& friendly_name);

// A trust store: one certificate bag per CA, no key. Java lists a certificate
// as `trustedCertEntry` only when its bag carries Oracle's attribute
// 2.16.840.1.113894.746875.1.1 (the key purposes it is trusted for; here
// anyExtendedKeyUsage) -- OpenSSL 3.0's PKCS12_create cannot set it, so the
// bags are built here. Aliases (friendlyName) are the certificates' subject
// CNs, lower case, made unique with "-2", "-3", ...; the certificate bags are
// not encrypted (they hold public data), the whole store carries an
// HMAC-SHA256 MAC with the password (none when the password is empty).
util::Result<std::string> write_pkcs12_truststore(const std::vector<X509Ptr>& certs,
                                                  const util::Secret& password);

struct Pkcs12Contents {
  X509Ptr cert;
  EvpPkeyPtr key;
  std::vector<X509Ptr> chain;
};
// A key store comes back with cert, key and the other certificates in chain.
// A trust store (certificates, no private key: `cert pkcs12 --truststore`,
// `openssl pkcs12 -export -nokeys`, Java's cacerts) comes back with cert and
// key empty and every certificate in chain, in the store's order; a caller
// that needs a key must check for it. Stores encrypted with legacy algorithms
// (RC2-40-CBC: `openssl pkcs12 -export -legacy`, older tools) are read with
// OpenSSL 3's legacy provider, loaded into a library context of its own that
// is the calling thread's default only during the read; when that provider
// cannot be loaded the error says so and how to re-export the store with AES.
// Errors name the source and say "wrong password" distinctly from corruption:
// "SOURCE: wrong password for the PKCS#12 key store; PASSWORD_ADVICE" when the
// MAC does not match (a store altered after writing looks the same);
// PASSWORD_ADVICE is the caller's, in the words of its interface ("check the
// password in pw.txt"; default "check the password"). "SOURCE: not a PKCS#12
// key store, or truncated or corrupted: <openssl reason>" when it cannot be
// parsed.
util::Result<Pkcs12Contents> read_pkcs12(std::string_view der, const std::string& source,
                                         const util::Secret& password,
                                         std::string_view password_advice = {});

}  // namespace tlsgate::pki
