// Cipher suite, group and version names, checked against this OpenSSL.
//
// The config layer knows no OpenSSL, so names from ssl.policy.*.ciphers,
// .groups and .tls_versions are resolved here, one at a time, so that an
// error names the one OpenSSL rejects (Envoy's approach). Both `check` and
// the context builder call these; they touch no files or sockets.
#pragma once

#include <string>
#include <vector>

#include "util/result.h"

namespace tlsgate::tls {

// What a cipher list becomes: one string for SSL_CTX_set_cipher_list (TLS 1.2)
// and one for SSL_CTX_set_ciphersuites (TLS 1.3), OpenSSL spelling, in order.
struct CipherSelection {
  std::string tls12;
  std::string tls13;
};

struct VersionRange {
  int min_version = 0;  // TLS1_2_VERSION or TLS1_3_VERSION
  int max_version = 0;
};

// TLS 1.2 ECDHE with AEAD only (AES-GCM, ChaCha20-Poly1305); all TLS 1.3 suites.
CipherSelection default_ciphers();

// Each name may be an IANA name (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256) or an
// OpenSSL one (ECDHE-ECDSA-AES128-GCM-SHA256); TLS 1.3 suites apply to 1.3.
// An empty list means default_ciphers(). Errors, one per problem:
//   OpenSSL rejects "BOGUS-SHA"; use IANA or OpenSSL suite names (`openssl ciphers -s -v` lists
//   them) names no TLSv1.3 suite although TLSv1.3 is enabled; add one (e.g. TLS_AES_128_GCM_SHA256)
//   or remove TLSv1.3 from tls_versions
std::vector<std::string> check_ciphers(const std::vector<std::string>& names,
                                       const VersionRange& versions);
util::Result<CipherSelection> resolve_ciphers(const std::vector<std::string>& names,
                                              const VersionRange& versions);

// Groups in order, e.g. X25519, P-256; returns the SSL_CTX_set1_groups_list string.
std::vector<std::string> check_groups(const std::vector<std::string>& names);
util::Result<std::string> resolve_groups(const std::vector<std::string>& names);

// "TLSv1.2", "TLSv1.3" (the only versions tlsgate speaks) into a range.
util::Result<VersionRange> resolve_versions(const std::vector<std::string>& names);

}  // namespace tlsgate::tls
