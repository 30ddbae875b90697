// Audit of a loaded config's certificate material: the engine of `tlsgate check`.
//
// audit() reads every file and folder the enabled policies name and reports
// what would make a handshake fail or a certificate expire unnoticed: missing
// files, loose key permissions, key/certificate mismatch, chains that do not
// verify, expiry (warning within `expiry_warning_days`), names not covered,
// stale or foreign CRLs, names OpenSSL rejects, malformed pins. It never
// touches the network. Findings are config::Diagnostics located at the key
// that names the culprit (its line when the key was set, else the file).
// Thread-safe; reads files only.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "config/diagnostic.h"
#include "config/settings.h"
#include "util/clock.h"

namespace tlsgate::tls {

struct AuditOptions {
  int expiry_warning_days = 30;
  uid_t uid = 0;  // the user tlsgate runs as (owner expected for private keys)
};

struct AuditReport {
  std::vector<std::string> policies;         // scopes audited, in order
  std::vector<config::Diagnostic> findings;  // errors and warnings
  int errors() const;
  int warnings() const;
};

AuditReport audit(const config::Config& config, const util::Clock& clock,
                  const AuditOptions& options);

}  // namespace tlsgate::tls
