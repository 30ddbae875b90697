#include "tls/config_audit.h"

#include <algorithm>

#include "config/user_map.h"
#include "pki/pin.h"
#include "tls/openssl_names.h"
#include "tls/policy_auditor.h"

namespace tlsgate::tls {
namespace {

void check_values(const config::Config& cfg, const config::Policy& policy,
                  std::vector<config::Diagnostic>& out) {
  const std::string prefix = "ssl.policy." + policy.scope + ".";
  auto error = [&](const char* suffix, std::string problem) {
    out.push_back({config::Diagnostic::Severity::kError, cfg.where(prefix + suffix),
                   prefix + suffix, std::move(problem), ""});
  };
  if (auto versions = resolve_versions(policy.tls_versions); !versions) {
    error("tls_versions", versions.error().message());
  } else {
    for (auto& e : check_ciphers(policy.ciphers, *versions)) error("ciphers", std::move(e));
  }
  for (auto& e : check_groups(policy.groups)) error("groups", std::move(e));
  for (const auto& pin : policy.pinned_certs) {
    if (auto parsed = pki::parse_pin(pin); !parsed) error("pinned_certs", parsed.error().message());
  }
}

// How each enabled policy is used: accepting (needs a key and certificate),
// dialling (certificate optional), and which listen hosts it must cover.
std::map<std::string, PolicyUse> policy_uses(const config::Config& cfg) {
  std::map<std::string, PolicyUse> uses;
  for (const auto& [name, c] : cfg.connectors) {
    if (c.tls_level != config::TlsLevel::kDisabled) {
      auto& use = uses[c.ssl_policy];
      use.incoming = true;
      if (!config::is_any_address(c.listen_address.host)) {
        use.listen_hosts.emplace_back("connector." + name + ".listen_address",
                                      c.listen_address.host);
      }
    }
    if (c.upstream_ssl_policy) uses[*c.upstream_ssl_policy].outgoing = true;
  }
  if (cfg.admin.enabled) {
    // The admin API's own certificate must name the host operators dial,
    // or every client fails hostname verification and nobody can fix it
    // through the API (review s22 section 6). admin.metrics_address is
    // plaintext: no certificate to cover it.
    auto& use = uses[cfg.admin.ssl_policy];
    use.incoming = true;
    if (!config::is_any_address(cfg.admin.listen_address.host)) {
      use.listen_hosts.emplace_back("admin.listen_address", cfg.admin.listen_address.host);
    }
  }
  if (cfg.cluster.enabled) {
    uses[cfg.cluster.ssl_policy].incoming = true;
    uses[cfg.cluster.ssl_policy].outgoing = true;
  }
  // A policy nothing refers to is one an embedder accepts connections with.
  for (const auto& [scope, p] : cfg.policies) {
    auto& use = uses[scope];
    if (!use.incoming && !use.outgoing) use.incoming = true;
  }
  return uses;
}

// A user_map must parse, and can only ever admit clients that present a
// certificate: with client_auth=NONE it would refuse every login.
void check_user_maps(const config::Config& cfg, std::vector<config::Diagnostic>& out) {
  using Severity = config::Diagnostic::Severity;
  for (const auto& [name, c] : cfg.connectors) {
    if (!c.user_map) continue;
    auto key = "connector." + name + ".user_map";
    if (auto map = config::UserMap::load(*c.user_map); !map) {
      out.push_back({Severity::kError, cfg.where(key), key, map.error().message(), ""});
    }
    auto policy = cfg.policies.find(c.ssl_policy);
    if (c.tls_level == config::TlsLevel::kDisabled ||
        (policy != cfg.policies.end() && policy->second.client_auth == config::ClientAuth::kNone)) {
      out.push_back({Severity::kError, cfg.where(key), key,
                     "clients of this connector present no certificate, so every login is refused",
                     "set ssl.policy." + c.ssl_policy + ".client_auth=REQUIRE or remove " + key});
    }
  }
}

}  // namespace

int AuditReport::errors() const {
  return static_cast<int>(std::count_if(findings.begin(), findings.end(), [](const auto& d) {
    return d.severity == config::Diagnostic::Severity::kError;
  }));
}

int AuditReport::warnings() const { return static_cast<int>(findings.size()) - errors(); }

AuditReport audit(const config::Config& config, const util::Clock& clock,
                  const AuditOptions& options) {
  AuditReport report;
  auto uses = policy_uses(config);
  for (const auto& [scope, policy] : config.policies) {
    if (!policy.enabled) continue;
    report.policies.push_back(scope);
    std::vector<config::Diagnostic> values;
    check_values(config, policy, values);
    report.config_errors += static_cast<int>(values.size());
    report.findings.insert(report.findings.end(), values.begin(), values.end());
    PolicyAuditor(config, policy, uses[scope], clock, options, report.findings).run();
  }
  check_user_maps(config, report.findings);
  return report;
}

std::vector<config::Diagnostic> check_policy_values(const config::Config& config) {
  std::vector<config::Diagnostic> out;
  for (const auto& [scope, policy] : config.policies) {
    if (policy.enabled) check_values(config, policy, out);
  }
  return out;
}

config::LoadResult load_config_checked(const std::filesystem::path& file,
                                       const std::vector<std::string>& env) {
  auto loaded = config::load_config(file, env);
  if (!loaded.ok()) return loaded;
  auto bad_values = check_policy_values(*loaded.config);
  if (!bad_values.empty()) {
    loaded.config.reset();
    loaded.diagnostics.insert(loaded.diagnostics.end(), bad_values.begin(), bad_values.end());
  }
  return loaded;
}

}  // namespace tlsgate::tls
