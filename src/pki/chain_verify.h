// Chain verification against a set of trust anchors and CRLs (libcrypto only).
//
// This is the offline check `cert verify` and `check` run; the TLS layer
// builds its own X509_STORE for handshakes from the same loaded material.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pki/handles.h"
#include "util/clock.h"
#include "util/result.h"

namespace tlsgate::pki {

struct VerifyOptions {
  enum class Purpose { kAny, kServer, kClient };
  Purpose purpose = Purpose::kAny;
  std::optional<util::SystemTime> at;   // verification time; default: now
  bool check_crls = false;              // leaf and chain (X509_V_FLAG_CRL_CHECK_ALL) against crls
  std::optional<std::string> hostname;  // DNS name or IP literal to match against SANs
  bool check_time = true;               // false: ignore validity periods (install-time CA check)
  bool partial_chain =
      true;  // a trusted intermediate or leaf is an anchor (as in Java trust stores)
};

// OK when leaf chains to one of `trusted` through `untrusted`. The error
// names the certificate that failed (subject, serial), the reason in
// OpenSSL's words and, for common reasons, the fix, e.g.
// "certificate CN=db1 (serial 3f..): certificate has expired (notAfter
// 2024-01-01 00:00:00 UTC); renew it", "certificate CN=db1 (serial ..): unable
// to get local issuer certificate (issuer CN=Other CA); put the issuer's
// certificate into the trusted folder", "certificate CN=db1 (serial ..):
// certificate revoked; issue a new certificate to replace it".
util::Status verify_chain(const X509* leaf, const std::vector<X509Ptr>& untrusted,
                          const std::vector<X509Ptr>& trusted, const std::vector<X509CrlPtr>& crls,
                          const VerifyOptions& options);

// The certificate among candidates that issued cert: its subject and key
// identifier fit cert's issuer fields and its key verifies cert's signature.
// nullptr when none did. For finding the CA of a leaf in a chain file or a
// trusted folder (the OCSP CertID and signer checks need the issuer itself).
const X509* find_issuer(const X509* cert, const std::vector<X509Ptr>& candidates);

}  // namespace tlsgate::pki
