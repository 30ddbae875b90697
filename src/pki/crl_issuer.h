// Issuing CRLs signed by a CA (`tlsgate cert revoke`, `tlsgate cert crl`,
// tests of revoked_dir). Pure functions of their arguments; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pki/handles.h"
#include "util/clock.h"
#include "util/result.h"

namespace tlsgate::pki {

// RFC 5280 5.3.1 CRLReason; the values are the DER enumeration. removeFromCRL (8) is for delta
// CRLs, which tlsgate does not issue, so it has no member here.
enum class RevocationReason {
  kUnspecified = 0,
  kKeyCompromise = 1,
  kCaCompromise = 2,
  kAffiliationChanged = 3,
  kSuperseded = 4,
  kCessationOfOperation = 5,
  kCertificateHold = 6,
  kPrivilegeWithdrawn = 9,
  kAaCompromise = 10,
};

// The RFC 5280 name ("keyCompromise", case-insensitive) to the reason. Errors list the names;
// "removeFromCRL" is refused (it only belongs in delta CRLs).
util::Result<RevocationReason> parse_revocation_reason(std::string_view name);
// The RFC 5280 spelling ("keyCompromise").
std::string_view reason_name(RevocationReason reason);

// One revoked certificate of a CRL.
struct CrlEntry {
  std::string serial_hex;       // as serial_to_hex() spells it: lower case, no leading zeros
  util::SystemTime revoked_at;  // revocationDate
  RevocationReason reason = RevocationReason::kUnspecified;  // no reasonCode when unspecified
};

struct CrlSpec {
  std::vector<CrlEntry> entries;
  uint64_t number = 1;                          // cRLNumber, must grow with each CRL issued
  std::optional<util::SystemTime> this_update;  // clock.now() unless set
  std::optional<util::SystemTime> next_update;  // this_update + 7 days unless set
};

// A CRL (v2, with AKI and the CRL number of spec) signed by the CA. The AKI's key identifier is
// the CA's subjectKeyIdentifier, or the SHA-1 of its public key for a CA without one
// (x509_build.h authority_key_identifier). Entries carry their own revocation date and, unless
// unspecified, a reasonCode extension (RFC 5280 5.3.1 says to omit it for unspecified). Errors
// name a bad serial and a CA key that does not match.
util::Result<X509CrlPtr> sign_crl(const X509* ca_cert, const EVP_PKEY* ca_key, const CrlSpec& spec,
                                  const util::Clock& clock);

// sign_crl() with CRL number 1, revoking the given certificates at this_update, without reasons.
// this_update = clock.now() unless set; next_update = this_update + 7 days unless set.
util::Result<X509CrlPtr> create_crl(const X509* ca_cert, const EVP_PKEY* ca_key,
                                    const std::vector<const X509*>& revoked,
                                    const util::Clock& clock,
                                    std::optional<util::SystemTime> this_update = {},
                                    std::optional<util::SystemTime> next_update = {});

// "3F:0a", "0x3f0a", "3f0a" to "3f0a" (serial_to_hex's form); nullopt when it is not hex.
std::optional<std::string> normalize_serial_hex(std::string_view text);

// RFC 5280 4.1.2.2: a conforming CA uses serial numbers of at most 20 octets.
inline constexpr size_t kMaxSerialOctets = 20;
// Octets of the DER INTEGER content of the positive serial serial_hex (normalize_serial_hex's
// form): "7f" is 1, "80" is 2 (a leading zero octet keeps it positive).
size_t serial_octets(std::string_view serial_hex);
// An error naming the serial and the limit when serial_hex needs more than kMaxSerialOctets.
util::Status check_serial_length(const std::string& serial_hex);

}  // namespace tlsgate::pki
