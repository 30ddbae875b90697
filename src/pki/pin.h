// SPKI pins: SHA-256 of a certificate's SubjectPublicKeyInfo DER.
//
// Two spellings are accepted everywhere a pin is read (pinned_certs):
// NATS form, 64 hex digits (optionally "sha256:" before them, any case), and
// HPKP form "sha256//BASE64". Both print with `cert pin`, in that order:
//   sha256:<hex>
//   sha256//<base64>
#pragma once

#include <string>
#include <string_view>

#include "pki/handles.h"
#include "util/result.h"

namespace tlsgate::pki {

// The 32 raw digest bytes.
std::string spki_sha256(const X509* cert);

// Parses either spelling into the 32 raw bytes; the error says which forms are accepted.
util::Result<std::string> parse_pin(std::string_view text);

}  // namespace tlsgate::pki
