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

struct Pkcs12Contents {
  X509Ptr cert;
  EvpPkeyPtr key;
  std::vector<X509Ptr> chain;
};
// Errors name the source and say "wrong password" distinctly from corruption:
// "SOURCE: wrong password for the PKCS#12 key store; check the password (or
// --password-file)" when the MAC does not match (a store altered after writing
// looks the same), "SOURCE: not a PKCS#12 key store, or truncated or corrupted:
// <openssl reason>" when it cannot be parsed.
util::Result<Pkcs12Contents> read_pkcs12(std::string_view der, const std::string& source,
                                         const util::Secret& password);

}  // namespace tlsgate::pki
