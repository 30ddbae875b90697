// PolicyAuditor: the checks `tlsgate check` runs on one policy's material.
// Internal to tls/config_audit; one instance per policy, single-threaded.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/diagnostic.h"
#include "config/settings.h"
#include "pki/certificate_info.h"
#include "pki/handles.h"
#include "tls/config_audit.h"
#include "util/clock.h"

namespace tlsgate::tls {

struct PolicyUse {
  bool incoming = false;  // accepts TLS: needs a key and a certificate
  bool outgoing = false;  // dials TLS: verifies servers; its certificate is optional
  std::vector<std::pair<std::string, std::string>> listen_hosts;  // (key, host) to be covered
};

class PolicyAuditor {
 public:
  PolicyAuditor(const config::Config& config, const config::Policy& policy, const PolicyUse& use,
                const util::Clock& clock, const AuditOptions& options,
                std::vector<config::Diagnostic>& out);
  void run();

 private:
  void report(config::Diagnostic::Severity severity, const std::string& key, std::string problem,
              std::string fix);
  void error(const std::string& suffix, std::string problem, std::string fix);
  void warning(const std::string& suffix, std::string problem, std::string fix);
  std::string key(const std::string& suffix) const { return prefix_ + suffix; }
  bool was_set(const std::string& suffix) const { return config_.origins.count(key(suffix)) > 0; }

  bool check_base_directory();
  void check_private_key();
  void check_token_key();
  void check_certificate();
  void check_curve_offered(const pki::CertificateInfo& info);
  void check_suites_usable(const pki::CertificateInfo& info);
  void check_certificate_validity(const X509* cert, const std::string& what);
  void check_trusted();
  void check_own_chain();
  void check_revoked();
  void check_names();
  void check_stapling();
  void check_acme_files();
  void check_identities();

  const config::Config& config_;
  const config::Policy& policy_;
  const PolicyUse& use_;
  const util::Clock& clock_;
  const AuditOptions& options_;
  std::vector<config::Diagnostic>& out_;
  std::string prefix_;  // "ssl.policy.<scope>."

  pki::EvpPkeyPtr key_;
  std::vector<pki::X509Ptr> certs_;    // public_certificate: leaf, then chain
  std::vector<pki::X509Ptr> trusted_;  // trusted_dir
  bool trusted_loaded_ = false;
};

}  // namespace tlsgate::tls
