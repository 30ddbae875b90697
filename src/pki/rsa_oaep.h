// RSA-OAEP encryption with a peer's RSA public key: what a MySQL client does
// with the server's key to send its password over a plaintext link
// (caching_sha2_password and sha256_password full authentication), and what
// net/starttls/mysql does on a TLS client's behalf.
//
// OAEP with SHA-1 and MGF1-SHA-1: OpenSSL's defaults, and what MySQL
// (>= 8.0.5) and MariaDB decrypt. Pure functions on bytes, any thread; the
// caller wipes its plaintext, and nothing here keeps a copy of it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "pki/handles.h"
#include "util/result.h"

namespace tlsgate::pki {

// An RSA public key from PEM ("BEGIN PUBLIC KEY", SubjectPublicKeyInfo).
util::Result<EvpPkeyPtr> rsa_public_key_from_pem(std::string_view pem);

// The longest plaintext `key` takes under OAEP with SHA-1: its size in bytes minus 42.
size_t rsa_oaep_max_plaintext(const EVP_PKEY* key);

// `plain` encrypted with `key`; fails when it is longer than rsa_oaep_max_plaintext().
util::Result<std::string> rsa_oaep_encrypt(const EVP_PKEY* key, std::string_view plain);

}  // namespace tlsgate::pki
