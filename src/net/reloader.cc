#include "net/reloader.h"

#include <map>

#include <spdlog/spdlog.h>

#include "config/loader.h"
#include "net/restart_only.h"
#include "pki/certificate_info.h"
#include "tls/config_audit.h"
#include "tls/policy_inputs.h"
#include "util/atomic_file.h"

namespace tlsgate::net {

namespace {

// requested: a reload someone asked for (SIGHUP, the API), which says of
// each policy what it found, at info; a file event that found nothing new
// (the watcher's event after the gate's own upload) is no new reload.
void log_reloads(const std::vector<tls::ReloadReport>& reports, const char* trigger,
                 bool requested) {
  for (const auto& r : reports) {
    const char* side = r.side == tls::Side::kServer ? "incoming" : "outgoing";
    if (r.ok && !r.changed) {
      spdlog::log(requested ? spdlog::level::info : spdlog::level::debug,
                  "ssl.policy.{} ({}): reloaded after {}: unchanged, certificate serial {}",
                  r.scope, side, trigger, r.new_serial.empty() ? "none" : r.new_serial);
      for (const auto& w : r.warnings) spdlog::warn("{}", w);
    } else if (r.ok) {
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
                                                         UnheardObserver on_unheard) {
  std::unique_ptr<Reloader> r(new Reloader(config, registry, connectors));
  r->on_user_map_ = std::move(on_user_map);
  r->on_unheard_ = std::move(on_unheard);
  {
    util::MutexLock lock(r->state_mu_);
    for (const auto& c : connectors) {
      if (!c->user_map) continue;
      auto& st = r->map_states_[user_map_key(c->settings.name)].status;
      st.connector = c->settings.name;
      st.file = c->settings.user_map->string();
    }
  }
  // What the contexts built at start carry (a stale CRL), logged like a reload's.
  for (const auto& [key, state] : registry.states()) {
    for (const auto& w : state.warnings) spdlog::warn("{}", w);
  }
  if (auto st = r->watch_files(); !st) return util::fail(st.error());
  return r;
}

void Reloader::stop() { watcher_.reset(); }

void Reloader::report(const std::vector<tls::ReloadReport>& reports, const char* trigger,
                      bool requested) {
  log_reloads(reports, trigger, requested);
  if (!on_unheard_) return;
  for (const auto& r : reports) {
    if (!r.ok || !r.changed) on_unheard_(r);
  }
}

std::vector<UserMapStatus> Reloader::user_maps() const {
  util::MutexLock lock(state_mu_);
  std::vector<UserMapStatus> out;
  for (const auto& [key, state] : map_states_) out.push_back(state.status);
  return out;
}

std::vector<std::string> Reloader::last_config_warnings() const {
  util::MutexLock lock(state_mu_);
  return last_warnings_;
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
  if (name.starts_with("connector.")) {
    reload_user_maps(name, false);
    return;
  }
  report(registry_.reload(policies_, {name}), "a file change", false);
}

// A user_map keeps its old content when the new one does not parse, like a
// policy keeps its old context.
std::vector<UserMapStatus> Reloader::reload_user_maps(const std::string& only, bool requested) {
  std::vector<UserMapStatus> out;
  for (auto& c : connectors_) {
    auto key = user_map_key(c->settings.name);
    if (!c->user_map || (!only.empty() && only != key)) continue;
    UserMapStatus st;
    st.connector = c->settings.name;
    st.file = c->settings.user_map->string();
    auto text = util::read_file(*c->settings.user_map);
    auto map = text ? config::UserMap::parse(*text, *c->settings.user_map)
                    : util::Result<config::UserMap>(util::fail(text.error()));
    if (!map) {
      st.ok = false;
      st.error = key + ": reload failed, the old map stays in force: " + map.error().message();
      // The same error for the same text was logged already: a change of
      // another file in the folder says nothing new.
      auto digest = tls::content_digest(text ? *text : std::string());
      bool repeated = false;
      {
        util::MutexLock lock(state_mu_);
        auto& state = map_states_[key];
        repeated =
            !state.status.ok && state.status.error == st.error && state.failed_content == digest;
        state.status = st;
        state.failed_content = digest;
      }
      if (repeated && !requested) {
        spdlog::debug("{}", st.error);
      } else {
        spdlog::error("{}", st.error);
      }
      out.push_back(std::move(st));
      continue;
    }
    // The watch is on the folder: other files changing there (a log, say)
    // must not count as reloads.
    st.changed = !(*map == *c->user_map->get());
    {
      util::MutexLock lock(state_mu_);
      auto& state = map_states_[key];
      if (!state.status.ok) spdlog::info("{}: {} parses again", key, st.file);
      state.status = st;
      state.failed_content.clear();
    }
    out.push_back(st);
    if (!st.changed) continue;
    spdlog::info("{}: reloaded {} ({} identities)", key, c->settings.user_map->string(),
                 map->size());
    c->user_map->publish(std::make_shared<const config::UserMap>(std::move(*map)));
    if (on_user_map_) on_user_map_(*c);
  }
  return out;
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
    util::MutexLock lock(state_mu_);
    last_warnings_.clear();
    return outcome;
  }
  const auto& next = *loaded.config;
  {
    util::MutexLock lock(reload_mutex_);
    for (const auto& change : restart_only_changes(started_, next)) {
      outcome.warnings.push_back(describe(change));
      spdlog::warn("reload: {}", outcome.warnings.back());
    }
    policies_ = next.policies;
    outcome.reports = registry_.reload(policies_);
    report(outcome.reports, "a configuration reload", true);
    outcome.user_maps = reload_user_maps("", true);
  }
  {
    util::MutexLock lock(state_mu_);
    last_warnings_ = outcome.warnings;
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
  report(outcome.reports, "a request to reload it", true);
  return outcome;
}

}  // namespace tlsgate::net
