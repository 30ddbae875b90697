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
//
// check_policy_values() is the part that reads no file: the values of the
// enabled policies that only OpenSSL can judge (config/ knows no OpenSSL).
// An error there is a config error, as the loader's are: `serve` refuses to
// start and `check` exits 2 (DESIGN.md), both with the same messages.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config/diagnostic.h"
#include "config/loader.h"
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
  int config_errors = 0;                     // of the errors, those check_policy_values() finds
  int errors() const;
  int warnings() const;
};

AuditReport audit(const config::Config& config, const util::Clock& clock,
                  const AuditOptions& options);

// tls_versions, ciphers and groups names OpenSSL rejects, and pinned_certs
// entries that are not pins, of every enabled policy; errors only.
std::vector<config::Diagnostic> check_policy_values(const config::Config& config);

// config::load_config() with check_policy_values()'s errors among its own
// diagnostics: a config that has one is not loaded (`serve` and a reload
// refuse it alike).
config::LoadResult load_config_checked(const std::filesystem::path& file,
                                       const std::vector<std::string>& env);

}  // namespace tlsgate::tls
