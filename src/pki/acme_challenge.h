// The certificate that answers an ACME TLS-ALPN-01 challenge (RFC 8737):
// self-signed by a fresh P-256 key, its only subjectAltName the identifier
// being validated (a DNS name, or an IP literal as in RFC 8738), and the
// critical id-pe-acmeIdentifier extension (1.3.6.1.5.5.7.1.31) holding an
// OCTET STRING of SHA-256(key authorization). Valid from an hour ago for
// seven days: it lives only as long as one validation. No sockets; pure,
// thread-safe.
#pragma once

#include <string_view>

#include "pki/handles.h"
#include "util/result.h"

namespace tlsgate::pki {

struct ChallengeCertificate {
  X509Ptr certificate;
  EvpPkeyPtr key;
};

util::Result<ChallengeCertificate> make_tls_alpn01_certificate(std::string_view identifier,
                                                               std::string_view key_authorization);

// The OID of id-pe-acmeIdentifier, dotted.
inline constexpr const char* kAcmeIdentifierOid = "1.3.6.1.5.5.7.1.31";

}  // namespace tlsgate::pki
