// The one set of reasons a TLS peer is refused or a backend fails (issue 14):
// the log lines say them, tlsgate_handshake_failures_total and
// tlsgate_upstream_failures_total count them, the dashboard charts them.
// A new reason is added here and nowhere else.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tlsgate::tls {

enum class FailureReason : uint8_t {
  kNoCertificate,       // client_auth=REQUIRE and the peer sent none
  kUnknownCa,           // chain does not reach a trusted certificate (either side's view)
  kExpired,             // a certificate of the chain is past its notAfter
  kNotYetValid,         // ... before its notBefore
  kRevoked,             // a CRL or an OCSP answer says revoked
  kRevocationUnknown,   // revocation_checks=STRICT and no status could be had
  kStaleCrl,            // stale_crl=REJECT and the issuer's CRL is past its nextUpdate
  kHostnameMismatch,    // the backend's certificate does not carry the name dialled
  kPinMismatch,         // pinned_certs did not match
  kIdentityNotAllowed,  // allowed_identities did not list the peer's identity
  kUserNotMapped,       // user_map refused the database user
  kProtocolVersion,     // no TLS version in common
  kNoSharedCipher,      // no cipher suite or group in common
  kTimeout,             // handshake_timeout passed
  kPlaintextRefused,    // tls_level=REQUIRED and the client spoke plaintext
  kConnectFailed,       // backends only: TCP connect or name resolution failed
  kCertificatePending,  // ACME has not obtained the policy's first certificate yet
  kUnknownPeer,         // known_peers lists none of the names the peer's certificate carries
  kOther,               // anything else (still explained in words in the log)
};

inline constexpr size_t kFailureReasonCount = static_cast<size_t>(FailureReason::kOther) + 1;

// The label word: "no_certificate", "unknown_ca", ... ("other").
constexpr std::string_view reason_name(FailureReason r) {
  constexpr std::array<std::string_view, kFailureReasonCount> kNames = {"no_certificate",
                                                                        "unknown_ca",
                                                                        "expired",
                                                                        "not_yet_valid",
                                                                        "revoked",
                                                                        "revocation_unknown",
                                                                        "stale_crl",
                                                                        "hostname_mismatch",
                                                                        "pin_mismatch",
                                                                        "identity_not_allowed",
                                                                        "user_not_mapped",
                                                                        "protocol_version",
                                                                        "no_shared_cipher",
                                                                        "timeout",
                                                                        "plaintext_refused",
                                                                        "connect_failed",
                                                                        "certificate_pending",
                                                                        "unknown_peer",
                                                                        "other"};
  return kNames[static_cast<size_t>(r)];
}

}  // namespace tlsgate::tls
