#include "cluster/replacement.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tlsgate::cluster {
namespace {

bool staged_or_later(const Report& r) {
  return r.state == NodeState::kStaged || r.state == NodeState::kApplied;
}

std::string words(std::chrono::seconds d) {
  auto s = d.count();
  if (s >= 86400) return fmt::format("{:.1f} days", static_cast<double>(s) / 86400);
  if (s >= 3600) return fmt::format("{:.1f} hours", static_cast<double>(s) / 3600);
  return fmt::format("{} seconds", s);
}

}  // namespace

View read_view(const Keys& keys, const std::vector<KeyValue>& kvs) {
  View v;
  std::vector<const KeyValue*> reports;
  for (const auto& kv : kvs) {
    if (kv.key.starts_with(keys.members())) {
      auto m = parse_member(kv.key, kv.value);
      if (m) {
        v.members[m->node] = std::move(*m);
      } else {
        v.problems.push_back(m.error().message());
      }
    } else if (kv.key.starts_with(keys.alive())) {
      v.alive[kv.key.substr(keys.alive().size())] = true;
    } else if (kv.key.starts_with(keys.open(""))) {
      v.open[kv.key.substr(keys.open("").size())] = {kv.value, kv.mod_revision};
    } else if (kv.key.starts_with(keys.replacements())) {
      auto r = parse_replacement(kv.key, kv.value);
      if (r) {
        auto id = r->id;
        v.replacements[id] = Entry{std::move(*r), kv.mod_revision, {}};
      } else {
        v.problems.push_back(r.error().message());
      }
    } else if (kv.key.starts_with(keys.retired())) {
      auto rest = kv.key.substr(keys.retired().size());  // <scope>/<fingerprint>
      if (auto slash = rest.find('/'); slash != std::string::npos) {
        v.retired[rest.substr(0, slash)].push_back(rest.substr(slash + 1));
      }
    } else if (kv.key.starts_with(keys.reports())) {
      reports.push_back(&kv);
    } else if (kv.key.starts_with(keys.acme_lock(""))) {
      auto node = nlohmann::json::parse(kv.value, nullptr, /*allow_exceptions=*/false);
      v.acme_renewers[kv.key.substr(keys.acme_lock("").size())] =
          node.is_object() && node.contains("node") && node["node"].is_string()
              ? node["node"].get<std::string>()
              : std::string(1, '?');
    }
  }
  for (const auto* kv : reports) {
    auto rest = kv->key.substr(keys.reports().size());  // <id>/<node>
    auto slash = rest.find('/');
    if (slash == std::string::npos) continue;
    auto it = v.replacements.find(rest.substr(0, slash));
    if (it == v.replacements.end()) continue;  // its replacement was removed
    auto r = parse_report(kv->key, kv->value);
    if (r) {
      it->second.reports[r->node] = std::move(*r);
    } else {
      v.problems.push_back(r.error().message());
    }
  }
  return v;
}

const char* to_string(Phase p) {
  switch (p) {
    case Phase::kProposed:
      return "proposed";
    case Phase::kTrusting:
      return "trusting";
    case Phase::kStaged:
      return "staged";
    case Phase::kCommitted:
      return "committed";
    case Phase::kApplied:
      return "applied";
    case Phase::kFailed:
      return "failed";
    case Phase::kAborted:
      return "aborted";
  }
  return "?";
}

Phase phase_of(const Entry& e, const std::vector<std::string>& members) {
  auto count = [&](auto pred) {
    return std::count_if(members.begin(), members.end(), [&](const std::string& m) {
      auto it = e.reports.find(m);
      return it != e.reports.end() && pred(it->second);
    });
  };
  const auto n = static_cast<long>(members.size());
  switch (e.record.state) {
    case RecordState::kAborted:
      return Phase::kAborted;
    case RecordState::kCommitted:
      if (count([](const Report& r) { return r.state == NodeState::kApplied; }) == n)
        return Phase::kApplied;
      if (count([](const Report& r) { return r.state == NodeState::kFailed; }) > 0)
        return Phase::kFailed;
      return Phase::kCommitted;
    case RecordState::kProposed:
      break;
  }
  if (count(staged_or_later) == n) return Phase::kStaged;
  if (!e.record.trust_pem.empty()) return Phase::kTrusting;
  return Phase::kProposed;
}

std::optional<std::string> commit_reason(const Entry& e, const std::vector<std::string>& members,
                                         const CommitFacts& facts) {
  if (e.record.state != RecordState::kProposed) return std::nullopt;
  if (e.record.immediate) return "immediate: requested by " + e.record.proposer;
  bool all = !members.empty() && std::all_of(members.begin(), members.end(), [&](const auto& m) {
    auto it = e.reports.find(m);
    return it != e.reports.end() && staged_or_later(it->second);
  });
  if (all) return "every member staged it";
  if (facts.current_not_after) {
    auto left =
        std::chrono::duration_cast<std::chrono::seconds>(*facts.current_not_after - facts.now);
    if (left <= facts.switch_before_expiry) {
      std::vector<std::string> missing;
      bool waiting_for_one_up = false;
      for (const auto& m : members) {
        auto it = e.reports.find(m);
        if (it == e.reports.end() || !staged_or_later(it->second)) missing.push_back(m);
        if (it == e.reports.end() && facts.alive.count(m) != 0) waiting_for_one_up = true;
      }
      const auto age = facts.now - util::SystemTime(std::chrono::seconds(e.record.proposed_at));
      if (waiting_for_one_up && age < facts.grace) return std::nullopt;
      return fmt::format(
          "the current certificate has {} left, within switch_before_expiry ({}); committed "
          "without {}",
          left.count() > 0 ? words(left) : "no time", words(facts.switch_before_expiry),
          fmt::join(missing, ", "));
    }
  }
  return std::nullopt;
}

const Entry* newest_committed(const View& view, const std::string& scope) {
  const Entry* best = nullptr;
  for (const auto& [id, e] : view.replacements) {
    if (e.record.scope != scope || e.record.state != RecordState::kCommitted) continue;
    if (!best || e.mod_revision > best->mod_revision) best = &e;
  }
  return best;
}

Step next_step(const View& view, const Entry& e, const std::string& node) {
  auto mine = e.reports.find(node);
  const bool reported = mine != e.reports.end();
  switch (e.record.state) {
    case RecordState::kAborted:
      return Step::kNothing;
    case RecordState::kProposed:
      if (!reported || mine->second.state == NodeState::kTrusting) return Step::kStage;
      return Step::kNothing;
    case RecordState::kCommitted:
      if (newest_committed(view, e.record.scope) != &e) return Step::kNothing;
      if (reported && mine->second.state == NodeState::kApplied) return Step::kNothing;
      return Step::kApply;
  }
  return Step::kNothing;
}

}  // namespace tlsgate::cluster
