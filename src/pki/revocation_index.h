// The revocation index of a CA folder: what `tlsgate cert revoke` records and
// `tlsgate cert crl` signs. Pure functions of their arguments; thread-safe.
//
// DIR/revocations.txt is UTF-8 text, one revoked certificate per line, four
// fields separated by a TAB (subjects hold spaces and commas):
//
//   # tlsgate revocation index: serial<TAB>revoked at<TAB>reason<TAB>subject
//   5c3e9a0d21f7...<TAB>2026-12-06T08:30:00Z<TAB>keyCompromise<TAB>CN=db1,O=tlsgate
//
//   serial      hex, lower case, no leading zeros (as `cert inspect` prints it)
//   revoked at  RFC 3339 UTC, seconds ("Z"); the entry's revocationDate in the CRL
//   reason      an RFC 5280 CRLReason name (crl_issuer.h), never removeFromCRL
//   subject     RFC 2253, or "-" when revoked by serial alone
// Lines starting with '#' and empty lines are skipped. The file is rewritten
// whole through util::write_file_atomic (mode 0644); it is the source of
// truth, and ca.crl can always be rebuilt from it. DIR/crlnumber holds the
// last CRL number issued, in decimal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pki/crl_issuer.h"
#include "util/clock.h"
#include "util/result.h"

namespace tlsgate::pki {

struct Revocation {
  std::string serial_hex;
  util::SystemTime revoked_at;
  RevocationReason reason = RevocationReason::kUnspecified;
  std::string subject;  // "-" when unknown
};

// Errors: "SOURCE:LINE: <what is wrong>; <fix>".
util::Result<std::vector<Revocation>> parse_revocation_index(std::string_view text,
                                                             const std::string& source);
// The file's text, header line first, entries in the given order.
std::string format_revocation_index(const std::vector<Revocation>& entries);

// The entry for serial_hex, or nullptr.
const Revocation* find_revocation(const std::vector<Revocation>& entries,
                                  const std::string& serial_hex);

// The CRL entries of an index.
std::vector<CrlEntry> crl_entries(const std::vector<Revocation>& entries);

// "2026-12-06T08:30:00Z" (whole seconds, UTC) and back; nullopt when not of that form
// (an offset other than Z or fractions are not accepted).
std::string format_rfc3339(util::SystemTime t);
std::optional<util::SystemTime> parse_rfc3339(std::string_view text);

// DIR/crlnumber's content: a decimal number; errors name the source.
util::Result<uint64_t> parse_crl_number(std::string_view text, const std::string& source);

}  // namespace tlsgate::pki
