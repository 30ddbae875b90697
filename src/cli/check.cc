// `tlsgate check -c FILE [--json]` and `tlsgate check --explain KEY`
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/serve_support.h"
#include "config/key_docs.h"
#include "config/loader.h"
#include "net/fd_budget.h"
#include "pki/secret_box.h"
#include "tls/config_audit.h"
#include "util/fd_limit.h"
#include "util/strings.h"

namespace tlsgate::cli {
namespace {

struct CheckOptions {
  std::string config = "tlsgate.conf";
  std::string explain;
  bool json = false;
};

using Severity = config::Diagnostic::Severity;

std::string line_for(const config::Diagnostic& d) {
  return (d.severity == Severity::kWarning ? "warning: " : "") + config::format(d);
}

nlohmann::json to_json(const config::Diagnostic& d) {
  return {{"severity", d.severity == Severity::kError ? "error" : "warning"},
          {"file", d.where.file},
          {"line", d.where.line},
          {"key", d.key},
          {"problem", d.problem},
          {"fix", d.fix},
          {"message", config::format(d)}};
}

std::string plural(size_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

int run_explain(const std::string& key) {
  if (auto text = config::explain(key)) {
    std::printf("%s", text->c_str());
    if (!text->empty() && text->back() != '\n') std::printf("\n");
    return kOk;
  }
  if (auto bad = config::bad_name_in_key(key)) {
    return report_error("unknown key " + key + ": " + bad->problem + "; " + bad->fix, kUsage);
  }
  auto near = config::nearest_key(key);
  if (near) return report_error("unknown key " + key + "; did you mean " + *near + "?", kUsage);
  // The last part of a key alone (`user_map`): the keys that end with it.
  std::vector<std::string> family;
  for (const auto& doc : config::key_docs()) {
    if (key.find('.') == std::string::npos && doc.pattern.ends_with("." + key)) {
      family.push_back(doc.pattern);
    }
  }
  if (!family.empty()) {
    return report_error("unknown key " + key + "; give the whole key: " +
                            util::join(family, " or ") + " (its name filled in)",
                        kUsage);
  }
  return report_error("unknown key " + key + "; check the spelling", kUsage);
}

int run_check(const CheckOptions& o) {
  if (!o.explain.empty()) return run_explain(o.explain);

  auto loaded = config::load_config(o.config, config::current_environment());
  std::vector<config::Diagnostic> findings = loaded.diagnostics;
  tls::AuditReport audit;
  std::vector<config::Diagnostic> unmet;
  if (loaded.ok()) {
    audit = tls::audit(*loaded.config, util::SystemClock::instance(), {30, ::geteuid()});
    findings.insert(findings.end(), audit.findings.begin(), audit.findings.end());
    // What serve refuses besides, worded alike: a config error (exit 2) in a
    // file meant for serve. A file of policies only (the README's tour, the
    // SSL section of a neo4j.conf) is checked as such and stays clean; one
    // that enables the admin API, which only serve runs, is meant for serve.
    if (loaded.config->admin.enabled) unmet = serve_requirements(*loaded.config);
    findings.insert(findings.end(), unmet.begin(), unmet.end());
    // serve raises its soft limit to this shell's hard one; under systemd,
    // LimitNOFILE= sets it instead.
    auto shortfall = net::fd_shortfall(*loaded.config, util::fd_limit().hard);
    if (!shortfall.empty()) {
      // Located at the largest max_connections (its line when set, else
      // its connector's listen_address line): the one to lower first.
      const config::Connector* largest = nullptr;
      for (const auto& [name, c] : loaded.config->connectors) {
        if (largest == nullptr || c.max_connections > largest->max_connections) largest = &c;
      }
      std::string key;
      config::Location where{o.config, 0};
      if (largest != nullptr) {
        key = "connector." + largest->name + ".max_connections";
        where = loaded.config->where(key);
        if (where.line == 0) {
          where = loaded.config->where("connector." + largest->name + ".listen_address");
        }
      }
      findings.push_back({Severity::kWarning, where, key, shortfall, ""});
    }
    // The cluster secret must open what the other nodes seal (check never
    // contacts etcd: that is probe's and serve's business).
    const auto& k = loaded.config->cluster;
    if (k.enabled && !k.secret_file.empty()) {
      if (auto box = pki::SecretBox::load(k.secret_file); !box) {
        findings.push_back({Severity::kError, loaded.config->where("cluster.secret_file"),
                            "cluster.secret_file", box.error().message(), ""});
      }
    }
  }
  size_t errors = 0;
  for (const auto& d : findings) errors += d.severity == Severity::kError ? 1 : 0;
  size_t warnings = findings.size() - errors;
  // A value OpenSSL rejects makes the config unusable, as a value the loader
  // rejects does: serve refuses both (DESIGN.md).
  const bool valid_config = loaded.ok() && audit.config_errors == 0 && unmet.empty();
  int code = !valid_config ? kUsage : errors > 0 ? kFailed : kOk;

  if (o.json) {
    nlohmann::json j{{"config", o.config},         {"valid_config", valid_config},
                     {"policies", audit.policies}, {"errors", errors},
                     {"warnings", warnings},       {"findings", nlohmann::json::array()}};
    for (const auto& d : findings) j["findings"].push_back(to_json(d));
    std::printf("%s\n", j.dump(2).c_str());
    return code;
  }
  for (const auto& d : findings) std::printf("%s\n", line_for(d).c_str());
  if (!loaded.ok()) {
    std::printf("%s: %s in the configuration; certificates were not checked\n", o.config.c_str(),
                plural(errors, "error", "errors").c_str());
    return code;
  }
  std::string scopes = audit.policies.empty()
                           ? "no enabled policy"
                           : plural(audit.policies.size(), "policy", "policies") + " (" +
                                 util::join(audit.policies, ", ") + ")";
  std::printf("%s: %s checked: %s, %s\n", o.config.c_str(), scopes.c_str(),
              plural(errors, "problem", "problems").c_str(),
              plural(warnings, "warning", "warnings").c_str());
  return code;
}

}  // namespace

void add_check(CLI::App& app, Outcome& out) {
  auto opts = std::make_shared<CheckOptions>();
  auto* cmd = app.add_subcommand(
      "check", "Check a config and every certificate, key, folder and name it refers to");
  cmd->add_option("-c,--config", opts->config, "Config file")->capture_default_str();
  cmd->add_option("--explain", opts->explain, "Print the documentation of KEY and exit");
  cmd->add_flag("--json", opts->json, "Print the findings as JSON");
  cmd->footer(
      "Exit codes: 0 clean (warnings allowed), 1 problems found, 2 the config is unusable.");
  cmd->callback([opts, &out] { out.code = run_check(*opts); });
}

}  // namespace tlsgate::cli
