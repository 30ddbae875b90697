// Writing certificates, keys and CRLs as PEM or DER, and to files.
//
// Private keys are written as PKCS#8 (encrypted with AES-256-CBC when a
// password is given), or on request as PKCS#1 (PEM label `RSA PRIVATE KEY`, for
// old TLS stacks such as yaSSL; RSA keys only, never encrypted) to files of mode 0600 (0400 where
// the caller asks), always through util::write_file_atomic.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "pki/handles.h"
#include "util/result.h"
#include "util/secret.h"

namespace tlsgate::pki {

util::Result<std::string> certificate_pem(const X509* cert);
util::Result<std::string> certificate_der(const X509* cert);
util::Result<std::string> private_key_pem(const EVP_PKEY* key,
                                          const std::optional<util::Secret>& password = {});
// PKCS#8 DER; EncryptedPrivateKeyInfo (AES-256-CBC, PBKDF2) when a password is given.
util::Result<std::string> private_key_der(const EVP_PKEY* key,
                                          const std::optional<util::Secret>& password = {});
enum class KeyFormat { kPkcs8, kPkcs1 };
// "pkcs8" or "pkcs1" (the --key-format values).
util::Result<KeyFormat> parse_key_format(const std::string& text);
// PKCS#1 RSAPrivateKey PEM. An EC or other key is refused: "PKCS#1 holds RSA keys only; this
// is an EC key: use --key-format pkcs8, or --rsa BITS for an RSA key".
util::Result<std::string> private_key_pkcs1_pem(const EVP_PKEY* key);
// The PEM of `format` (one of the two above); PKCS#1 cannot be encrypted (an error).
util::Result<std::string> encode_private_key(const EVP_PKEY* key, KeyFormat format,
                                             const std::optional<util::Secret>& password = {});

util::Result<std::string> crl_pem(const X509_CRL* crl);
util::Result<std::string> crl_der(const X509_CRL* crl);

// PEM of the leaf followed by the chain (the public_certificate layout).
util::Result<std::string> chain_pem(const X509* leaf, const std::vector<X509Ptr>& chain);

util::Status write_private_key(const std::filesystem::path& path, const EVP_PKEY* key,
                               mode_t mode = 0600, const std::optional<util::Secret>& password = {},
                               KeyFormat format = KeyFormat::kPkcs8);

}  // namespace tlsgate::pki
