// OCSP without the network: the request to send, and the checks a response
// must pass before anyone staples it or trusts what it says (RFC 6960).
//
// Everything goes through OpenSSL's OCSP API; no ASN.1 is parsed by hand.
// Fetching (HTTP POST, deadlines, retries, caching) belongs to the callers
// in tls/ and net/; this file knows no sockets and no clock but the `now` it
// is given. All functions are pure functions of their arguments and
// thread-safe; the certificates passed in are only read.
//
// Errors name the certificate the response is about ("OCSP response for
// CN=db1,O=tlsgate (serial 1a2b): ...") and say which rule failed.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pki/handles.h"
#include "util/clock.h"
#include "util/result.h"

namespace tlsgate::pki {

// The largest response a caller should read from a responder or a cache
// file; verify_ocsp_response refuses anything larger. Real responses for one
// certificate are a few kilobytes, even with the responder's chain.
inline constexpr size_t kMaxOcspResponseSize = 64 * 1024;

// How far thisUpdate may lie ahead of `now` (the responder's clock is not ours).
inline constexpr std::chrono::minutes kOcspClockSkew{5};

// The OCSP responder URLs in cert's Authority Information Access extension,
// in the certificate's order; empty when it names none.
std::vector<std::string> ocsp_urls(const X509* cert);

// A DER OCSPRequest for leaf: one CertID (SHA-1, what responders expect),
// no nonce, unsigned, so the answer is cacheable (RFC 5019). Fails when
// issuer did not issue leaf.
util::Result<std::string> ocsp_request_der(const X509* leaf, const X509* issuer);

struct OcspAnswer {
  enum class Status { kGood, kRevoked, kUnknown };
  Status status = Status::kUnknown;
  util::SystemTime this_update{};
  std::optional<util::SystemTime> next_update;  // absent: "newer information is always available"
  std::optional<util::SystemTime> revoked_at;   // kRevoked only
  int reason = -1;         // kRevoked: CRLReason code (0..10), -1 when the responder gave none
  std::string serial_hex;  // the leaf's serial, as serial_to_hex() writes it
  std::string der;         // the whole response as received: to staple and to cache
};

// The name of leaf's cached response in server.state_dir/ocsp/: the
// lowercase hex SHA-256 of its DER, then ".der".
std::string ocsp_cache_file_name(const X509* leaf);

// "good", "revoked", "unknown".
const char* status_name(OcspAnswer::Status status);
// "keyCompromise", ...; "unspecified" for -1 or a code OpenSSL does not name.
std::string revocation_reason_name(int reason);

// Checks der, a DER OCSPResponse, as the answer about leaf (issued by
// issuer) at time now, and returns what it says. In order, it must:
//  1. be at most kMaxOcspResponseSize bytes of one DER OCSPResponse, nothing after it;
//  2. have responseStatus successful, and be a basic response;
//  3. be signed by the issuer itself, or by a delegated responder: a
//     certificate carried in the response, issued and signed by the issuer,
//     with extendedKeyUsage OCSPSigning, valid at now. No other trust anchor
//     counts (OpenSSL's chain building is not used: a store with unrelated
//     roots would let any of them vouch for a responder);
//  4. have a signature that verifies with that signer's key;
//  5. hold a SingleResponse whose CertID is leaf's (with whichever hash the
//     response uses);
//  6. have its thisUpdate no later than now + kOcspClockSkew, and its
//     nextUpdate, if present, not before now (nor before thisUpdate).
// Any bytes may be passed; garbage is an error, never a crash.
util::Result<OcspAnswer> verify_ocsp_response(std::string_view der, const X509* leaf,
                                              const X509* issuer, util::SystemTime now);

}  // namespace tlsgate::pki
