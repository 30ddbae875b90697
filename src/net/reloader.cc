#include "net/reloader.h"

#include <map>
#include <tuple>

#include <spdlog/spdlog.h>

#include "config/loader.h"
#include "pki/certificate_info.h"
#include "tls/config_audit.h"

namespace tlsgate::net {

namespace {

void log_reloads(const std::vector<tls::ReloadReport>& reports, const char* trigger) {
  for (const auto& r : reports) {
    const char* side = r.side == tls::Side::kServer ? "incoming" : "outgoing";
    if (r.ok) {
      spdlog::info("ssl.policy.{} ({}): reloaded after {}: certificate serial {} -> {}, expires {}",
                   r.scope, side, trigger, r.old_serial.empty() ? "none" : r.old_serial,
                   r.new_serial.empty() ? "none" : r.new_serial,
                   r.new_serial.empty() ? "-" : pki::format_time(r.new_not_after));
      for (const auto& w : r.warnings) spdlog::warn("{}", w);
    } else {
      spdlog::error("ssl.policy.{} ({}): reload after {} failed, still serving serial {}: {}",
                    r.scope, side, trigger, r.old_serial.empty() ? "none" : r.old_serial, r.error);
    }
  }
}

auto acme_settings(const config::Policy& p) {
  return std::tie(p.acme_directory, p.acme_email, p.acme_names, p.acme_challenge,
                  p.acme_http_address, p.acme_key_type, p.acme_ca_bundle, p.acme_eab_kid,
                  p.acme_eab_hmac_file);
}

// The ACME manager runs with the settings it started with (acme/manager.h).
void warn_acme_changes(const config::Config& started, const config::Config& next) {
  static const config::Policy kNone;
  for (const auto& [scope, p] : next.policies) {
    auto old = started.policies.find(scope);
    const auto& before = old == started.policies.end() ? kNone : old->second;
    if (acme_settings(before) != acme_settings(p)) {
      spdlog::warn(
          "reload: the acme_* settings of ssl.policy.{} changed in {}; ACME issuance and renewal "
          "take them only after a restart",
          scope, started.file.string());
    }
  }
}

}  // namespace

Reloader::Reloader(const config::Config& config, tls::ContextRegistry& registry,
                   Connectors& connectors)
    : started_(config),
      policies_(started_.policies),
      registry_(registry),
      connectors_(connectors) {}

Reloader::~Reloader() { stop(); }

util::Result<std::unique_ptr<Reloader>> Reloader::create(const config::Config& config,
                                                         tls::ContextRegistry& registry,
                                                         Connectors& connectors,
                                                         UserMapObserver on_user_map,
                                                         FailureObserver on_failure) {
  std::unique_ptr<Reloader> r(new Reloader(config, registry, connectors));
  r->on_user_map_ = std::move(on_user_map);
  r->on_failure_ = std::move(on_failure);
  // What the contexts built at start carry (a stale CRL), logged like a reload's.
  for (const auto& [key, state] : registry.states()) {
    for (const auto& w : state.warnings) spdlog::warn("{}", w);
  }
  if (auto st = r->watch_files(); !st) return util::fail(st.error());
  return r;
}

void Reloader::stop() { watcher_.reset(); }

void Reloader::report(const std::vector<tls::ReloadReport>& reports, const char* trigger) {
  log_reloads(reports, trigger);
  if (!on_failure_) return;
  for (const auto& r : reports) {
    if (!r.ok) on_failure_(r);
  }
}

util::Status Reloader::watch_files() {
  watcher_.reset();
  auto settle =
      std::chrono::duration_cast<std::chrono::milliseconds>(started_.server.reload_settle);
  std::map<std::string, std::filesystem::path> user_maps;
  for (const auto& c : connectors_) {
    if (c->settings.user_map) user_maps[user_map_key(c->settings.name)] = *c->settings.user_map;
  }
  auto w = tls::FileWatcher::create(
      registry_.policies(), settle, [this](const std::string& name) { on_file_change(name); },
      user_maps);
  if (!w) return util::fail(w.error());
  watcher_ = std::move(*w);
  return {};
}

void Reloader::on_file_change(const std::string& name) {
  util::MutexLock lock(reload_mutex_);
  if (name.starts_with("connector.")) return reload_user_maps(name);
  report(registry_.reload(policies_, {name}), "a file change");
}

// A user_map keeps its old content when the new one does not parse, like a
// policy keeps its old context.
void Reloader::reload_user_maps(const std::string& only) {
  for (auto& c : connectors_) {
    auto key = user_map_key(c->settings.name);
    if (!c->user_map || (!only.empty() && only != key)) continue;
    auto map = config::UserMap::load(*c->settings.user_map);
    if (!map) {
      spdlog::error("{}: reload failed, the old map stays in force: {}", key,
                    map.error().message());
      continue;
    }
    // The watch is on the folder: other files changing there (a log, say)
    // must not count as reloads.
    if (*map == *c->user_map->get()) continue;
    spdlog::info("{}: reloaded {} ({} identities)", key, c->settings.user_map->string(),
                 map->size());
    c->user_map->publish(std::make_shared<const config::UserMap>(std::move(*map)));
    if (on_user_map_) on_user_map_(*c);
  }
}

ReloadOutcome Reloader::reload_config() {
  ReloadOutcome outcome;
  // A value only OpenSSL can judge (a cipher name, say) fails the reload as
  // it fails a start, at its FILE:LINE, rather than one policy's context.
  auto loaded = tls::load_config_checked(started_.file, config::current_environment());
  if (!loaded.ok()) {
    outcome.config_ok = false;
    for (const auto& d : loaded.diagnostics) {
      if (d.severity != config::Diagnostic::Severity::kError) continue;
      outcome.config_errors.push_back(config::format(d));
      spdlog::error("reload: {}", outcome.config_errors.back());
    }
    spdlog::error("reload of {} failed: the old configuration stays in force",
                  started_.file.string());
    return outcome;
  }
  const auto& next = *loaded.config;
  {
    util::MutexLock lock(reload_mutex_);
    if (next.connectors != started_.connectors || next.server != started_.server) {
      spdlog::warn(
          "reload: connector or server.* settings changed in {}; they take effect only after a "
          "restart",
          started_.file.string());
    }
    warn_acme_changes(started_, next);
    policies_ = next.policies;
    outcome.reports = registry_.reload(policies_);
    report(outcome.reports, "a configuration reload");
    reload_user_maps("");
  }
  // Outside the lock: replacing the watcher joins its thread, which may be
  // waiting for the lock in a file-change reload.
  if (auto st = watch_files(); !st) spdlog::error("{}", st.error().message());
  return outcome;
}

ReloadOutcome Reloader::reload_policy(const std::string& scope) {
  ReloadOutcome outcome;
  util::MutexLock lock(reload_mutex_);
  outcome.reports = registry_.reload(policies_, {scope});
  if (outcome.reports.empty()) {
    outcome.config_ok = false;
    outcome.config_errors.push_back("ssl.policy." + scope +
                                    ": no connector or admin listener of this gate uses it");
    return outcome;
  }
  report(outcome.reports, "a request to reload it");
  return outcome;
}

}  // namespace tlsgate::net
