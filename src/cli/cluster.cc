// `tlsgate cluster replace-cert|status|abort|retire-trust` (issue 15,
// docs/CLUSTER.md): the operator's side of cluster certificate replacement.
// Each reads the config (-c) for the cluster's etcd, secret and policies,
// and talks to etcd directly; the running nodes do the rest.
#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cluster/runtime.h"
#include "cluster/status_json.h"
#include "config/loader.h"
#include "pki/certificate_info.h"
#include "util/atomic_file.h"

namespace tlsgate::cli {
namespace {

struct ClusterOptions {
  std::string config = "tlsgate.conf";
  std::string scope, cert, key, ca, issuer, id;
  bool immediate = false;
  bool json = false;
};

// The config and a connection to its cluster's etcd, or the exit code.
struct Connected {
  std::unique_ptr<cluster::ClusterRuntime> runtime;
  int code = kOk;
};

Connected connect(const ClusterOptions& o) {
  auto loaded = config::load_config(o.config, config::current_environment());
  if (!loaded.ok()) {
    for (const auto& d : loaded.diagnostics)
      std::fprintf(stderr, "%s\n", config::format(d).c_str());
    return {nullptr, report_error(o.config + ": the configuration has errors", kUsage)};
  }
  if (!loaded.config->cluster.enabled) {
    return {nullptr, report_error(o.config + ": cluster.enabled is false, so this node is in no "
                                             "cluster; set cluster.enabled=true and its keys "
                                             "(tlsgate check --explain cluster.enabled)",
                                  kUsage)};
  }
  auto rt = cluster::ClusterRuntime::connect(*loaded.config, false);
  if (!rt) return {nullptr, report_error(rt.error().message(), kUsage)};
  return {std::move(*rt), kOk};
}

std::string when(int64_t unix_seconds) {
  if (unix_seconds == 0) return "-";
  return pki::format_time(util::SystemTime(std::chrono::seconds(unix_seconds)));
}

void print_status(const cluster::ClusterStatus& s) {
  std::printf("cluster %s (seen from node %s)\n\nmembers:\n", s.name.c_str(), s.node.c_str());
  for (const auto& m : s.members) {
    std::string serving;
    if (auto it = s.published.find(m); it != s.published.end()) {
      for (const auto& [scope, serial] : it->second.serving)
        serving += fmt::format(" {}={}", scope, serial);
    }
    std::printf("  %-16s %-5s serving:%s\n", m.c_str(), s.alive.at(m) ? "up" : "DOWN",
                serving.empty() ? " -" : serving.c_str());
  }
  std::printf("\nreplacements:%s\n", s.replacements.empty() ? " none" : "");
  for (const auto& r : s.replacements) {
    std::printf("  %s  scope %s  serial %s  %s%s\n", r.record.id.c_str(), r.record.scope.c_str(),
                r.record.serial.c_str(), cluster::to_string(r.phase),
                r.record.trust_pem.empty() ? "" : "  (new issuer)");
    std::printf("    proposed %s by %s%s\n", when(r.record.proposed_at).c_str(),
                r.record.proposer.c_str(), r.record.immediate ? ", immediate" : "");
    if (r.record.state != cluster::RecordState::kProposed) {
      std::printf("    %s %s by %s: %s\n", cluster::to_string(r.record.state),
                  when(r.record.decided_at).c_str(), r.record.decided_by.c_str(),
                  r.record.commit_reason.c_str());
    }
    for (const auto& m : s.members) {
      auto it = r.reports.find(m);
      if (it == r.reports.end()) {
        std::printf("    %-16s waiting\n", m.c_str());
      } else {
        std::printf("    %-16s %-9s %s\n", m.c_str(), cluster::to_string(it->second.state),
                    it->second.reason.c_str());
      }
    }
  }
  for (const auto& p : s.problems) std::printf("problem: %s\n", p.c_str());
}

int run_status(const ClusterOptions& o) {
  auto c = connect(o);
  if (!c.runtime) return c.code;
  auto& rt = *c.runtime;
  auto snap = rt.store().range(rt.keys().base);
  if (!snap) return report_error("etcd: " + snap.error().message(), kFailed);
  auto s = cluster::status_of(rt.config().cluster, cluster::read_view(rt.keys(), snap->kvs));
  s.connected = true;
  if (o.json) {
    std::printf("%s\n", cluster::to_json(s).dump(2).c_str());
  } else {
    print_status(s);
  }
  return kOk;
}

int run_replace(const ClusterOptions& o) {
  auto cert = util::read_file(o.cert);
  if (!cert) return report_error("--cert: " + cert.error().message(), kUsage);
  auto key = util::read_file(o.key);
  if (!key) return report_error("--key: " + key.error().message(), kUsage);
  std::string trust;
  if (!o.ca.empty()) {
    auto ca = util::read_file(o.ca);
    if (!ca) return report_error("--ca: " + ca.error().message(), kUsage);
    trust = std::move(*ca);
  }
  auto c = connect(o);
  if (!c.runtime) return c.code;
  auto& rt = *c.runtime;
  auto facts = rt.local_facts(o.scope);
  if (!facts) return report_error(facts.error().message(), kUsage);
  cluster::Proposal p;
  p.scope = o.scope;
  p.pair = {std::move(*cert), std::move(*key), "new"};
  p.trust_pem = std::move(trust);
  p.immediate = o.immediate;
  p.proposer = "tlsgate cluster replace-cert on " + rt.config().cluster.node_name;
  auto id = cluster::propose(rt.store(), rt.keys(), rt.box(), p, facts->target,
                             util::SystemClock::instance());
  util::wipe(p.pair.private_key_pem);
  if (!id) {
    std::fprintf(stderr, "tlsgate: error: the replacement of scope %s was refused:\n",
                 o.scope.c_str());
    for (const auto& r : id.error().reasons) std::fprintf(stderr, "  - %s\n", r.c_str());
    return kFailed;
  }
  std::printf("replacement %s proposed for scope %s%s\nfollow it with: tlsgate cluster status\n",
              id->c_str(), o.scope.c_str(),
              o.immediate ? " (immediate: the nodes switch at once)" : "");
  return kOk;
}

int run_abort(const ClusterOptions& o) {
  auto c = connect(o);
  if (!c.runtime) return c.code;
  auto& rt = *c.runtime;
  if (auto done = cluster::abort_replacement(
          rt.store(), rt.keys(), o.id, "tlsgate cluster abort on " + rt.config().cluster.node_name,
          util::SystemClock::instance());
      !done) {
    return report_error(done.error().message(), kFailed);
  }
  std::printf("replacement %s aborted\n", o.id.c_str());
  return kOk;
}

int run_retire(const ClusterOptions& o) {
  auto issuer = util::read_file(o.issuer);
  if (!issuer) return report_error("--issuer: " + issuer.error().message(), kUsage);
  auto c = connect(o);
  if (!c.runtime) return c.code;
  auto& rt = *c.runtime;
  auto facts = rt.local_facts(o.scope);
  if (!facts) return report_error(facts.error().message(), kUsage);
  auto current = util::read_file(facts->target.policy.public_certificate);
  if (auto done =
          cluster::retire_trust(rt.store(), rt.keys(), o.scope, *issuer, current ? *current : "",
                                "tlsgate cluster retire-trust on " + rt.config().cluster.node_name,
                                util::SystemClock::instance());
      !done) {
    return report_error(done.error().message(), kFailed);
  }
  std::printf("every node of the cluster now drops %s from ssl.policy.%s.trusted_dir\n",
              o.issuer.c_str(), o.scope.c_str());
  return kOk;
}

}  // namespace

void add_cluster(CLI::App& app, Outcome& out) {
  auto opts = std::make_shared<ClusterOptions>();
  auto* cmd = app.add_subcommand("cluster",
                                 "Replace a cluster-wide certificate on every node through etcd");
  cmd->require_subcommand(1);
  cmd->add_option("-c,--config", opts->config, "Config file")->capture_default_str();

  auto* replace = cmd->add_subcommand(
      "replace-cert", "Propose a new certificate for a scope; every node stages it, then switches");
  replace->add_option("--scope", opts->scope, "The policy (one of cluster.scopes)")->required();
  replace->add_option("--cert", opts->cert, "PEM certificate, leaf first, then its chain")
      ->required();
  replace->add_option("--key", opts->key, "PEM private key of the certificate")->required();
  replace->add_option("--ca", opts->ca,
                      "A new issuer: every node trusts it before any node switches");
  replace->add_flag("--immediate", opts->immediate,
                    "Switch at once, without waiting for every node to stage it");
  replace->callback([opts, &out] { out.code = run_replace(*opts); });

  auto* status = cmd->add_subcommand("status", "Members, and each replacement's phase per node");
  status->add_flag("--json", opts->json, "The status as JSON (docs/CLUSTER.md)");
  status->callback([opts, &out] { out.code = run_status(*opts); });

  auto* abort = cmd->add_subcommand("abort", "Abort a replacement that has not committed");
  abort->add_option("ID", opts->id, "The replacement's id (tlsgate cluster status)")->required();
  abort->callback([opts, &out] { out.code = run_abort(*opts); });

  auto* retire =
      cmd->add_subcommand("retire-trust", "Drop an old issuer from a scope's trust on every node");
  retire->add_option("--scope", opts->scope, "The policy")->required();
  retire->add_option("--issuer", opts->issuer, "PEM certificate of the issuer to drop")->required();
  retire->callback([opts, &out] { out.code = run_retire(*opts); });
  for (auto* sub : {replace, status, abort, retire}) {
    sub->add_option("-c,--config", opts->config, "Config file")->capture_default_str();
  }
}

}  // namespace tlsgate::cli
