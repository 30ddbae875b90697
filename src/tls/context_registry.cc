#include "tls/context_registry.h"

#include <algorithm>

#include "tls/policy_inputs.h"

namespace tlsgate::tls {
namespace {

void record_certificate(PolicyState& state, const Context& ctx, util::SystemTime now) {
  state.serial = ctx.certificate ? ctx.certificate->serial_hex : "";
  state.not_after = ctx.certificate ? ctx.certificate->not_after : util::SystemTime{};
  state.loaded_at = now;
  state.warnings = crl_warnings(ctx, now);
}

}  // namespace

util::Result<ContextRegistry::Entry> ContextRegistry::acquire(const config::Policy& policy,
                                                              Side side) {
  util::MutexLock lock(mu_);
  Key key{policy.scope, side};
  if (auto it = slots_.find(key); it != slots_.end()) return it->second.entry;
  auto inputs = policy_inputs_digest(policy);
  auto ctx = build_context(policy, side, options_, clock_);
  if (!ctx) return util::fail(ctx.error());
  Slot slot;
  slot.inputs = std::move(inputs);
  slot.entry = std::make_shared<util::Versioned<Context>>(*ctx);
  record_certificate(slot.state, **ctx, clock_.now());
  auto entry = slot.entry;
  slots_.emplace(key, std::move(slot));
  return entry;
}

std::vector<ReloadReport> ContextRegistry::reload(
    const std::map<std::string, config::Policy>& policies, const std::vector<std::string>& scopes) {
  auto reports = rebuild(policies, scopes);
  util::MutexLock lock(observers_->mu);
  for (const auto& r : reports) {
    if (!r.changed) continue;
    for (const auto& [id, observer] : observers_->by_id) observer(r);
  }
  return reports;
}

ContextRegistry::Subscription ContextRegistry::subscribe(ReloadObserver on_reload) {
  util::MutexLock lock(observers_->mu);
  uint64_t id = observers_->next_id++;
  observers_->by_id.emplace(id, std::move(on_reload));
  return Subscription(observers_, id);
}

void ContextRegistry::Subscription::reset() {
  if (auto observers = observers_.lock()) {
    util::MutexLock lock(observers->mu);
    observers->by_id.erase(id_);
  }
  observers_.reset();
}

std::vector<ReloadReport> ContextRegistry::rebuild(
    const std::map<std::string, config::Policy>& policies, const std::vector<std::string>& scopes) {
  util::MutexLock lock(mu_);
  std::vector<ReloadReport> reports;
  for (auto& [key, slot] : slots_) {
    const auto& [scope, side] = key;
    if (!scopes.empty() && std::find(scopes.begin(), scopes.end(), scope) == scopes.end()) continue;
    ReloadReport r;
    r.scope = scope;
    r.side = side;
    r.old_serial = slot.state.serial;
    auto policy = policies.find(scope);
    if (policy == policies.end() || !policy->second.enabled) {
      r.error = "ssl.policy." + scope +
                " is no longer defined or enabled; its connectors keep the "
                "old settings until a restart";
    } else {
      // Read before the build: a file written during it differs next time.
      auto inputs = policy_inputs_digest(policy->second);
      if (auto ctx = build_context(policy->second, side, options_, clock_); !ctx) {
        r.error = ctx.error().message();
      } else {
        r.ok = true;
        r.new_serial = (*ctx)->certificate ? (*ctx)->certificate->serial_hex : "";
        r.new_not_after = (*ctx)->certificate ? (*ctx)->certificate->not_after : util::SystemTime{};
        r.warnings = crl_warnings(**ctx, clock_.now());
        // What cannot be told (a key on a token) counts as changed.
        r.changed = !inputs || !slot.inputs || *inputs != *slot.inputs ||
                    slot.entry->get()->policy != policy->second;
        // Published either way: an equal context costs nothing, and one
        // wrongly judged equal must still be served.
        slot.entry->publish(*ctx);
        slot.inputs = std::move(inputs);
        if (r.changed) {
          record_certificate(slot.state, **ctx, clock_.now());
        } else {
          slot.state.warnings = r.warnings;
        }
      }
    }
    if (r.ok) {
      if (r.changed) ++slot.state.reloads_ok;  // the same files again are no new reload
      slot.state.last_error.clear();
    } else {
      ++slot.state.reloads_failed;
      slot.state.last_error = r.error;
    }
    reports.push_back(std::move(r));
  }
  return reports;
}

std::map<ContextRegistry::Key, PolicyState> ContextRegistry::states() const {
  util::MutexLock lock(mu_);
  std::map<Key, PolicyState> out;
  for (const auto& [key, slot] : slots_) out[key] = slot.state;
  return out;
}

std::vector<config::Policy> ContextRegistry::policies() const {
  util::MutexLock lock(mu_);
  std::map<std::string, config::Policy> unique;
  for (const auto& [key, slot] : slots_) unique[key.first] = slot.entry->get()->policy;
  std::vector<config::Policy> out;
  out.reserve(unique.size());
  for (auto& [scope, p] : unique) out.push_back(std::move(p));
  return out;
}

}  // namespace tlsgate::tls
