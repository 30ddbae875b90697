#include "cluster/status_json.h"

namespace tlsgate::cluster {

nlohmann::json to_json(const ClusterStatus& s) {
  using nlohmann::json;
  json members = json::array();
  for (const auto& m : s.members) {
    json one{{"node", m}, {"up", s.alive.count(m) && s.alive.at(m)}};
    if (auto it = s.published.find(m); it != s.published.end()) {
      one["serving"] = it->second.serving;
      one["listen_hosts"] = it->second.listen_hosts;
    } else {
      one["serving"] = json::object();
      one["listen_hosts"] = json::object();
    }
    members.push_back(std::move(one));
  }
  json replacements = json::array();
  for (const auto& r : s.replacements) {
    json nodes = json::object();
    for (const auto& m : s.members) {
      auto it = r.reports.find(m);
      if (it == r.reports.end()) {
        nodes[m] = {{"state", "waiting"}};
        continue;
      }
      nodes[m] = {{"state", to_string(it->second.state)},
                  {"reason", it->second.reason},
                  {"serial", it->second.serial},
                  {"at", it->second.at}};
    }
    replacements.push_back({{"id", r.record.id},
                            {"scope", r.record.scope},
                            {"serial", r.record.serial},
                            {"not_after", r.record.not_after},
                            {"proposer", r.record.proposer},
                            {"proposed_at", r.record.proposed_at},
                            {"immediate", r.record.immediate},
                            {"new_issuer", !r.record.trust_pem.empty()},
                            {"state", to_string(r.record.state)},
                            {"phase", to_string(r.phase)},
                            {"reason", r.record.commit_reason},
                            {"decided_by", r.record.decided_by},
                            {"decided_at", r.record.decided_at},
                            {"nodes", std::move(nodes)}});
  }
  return json{{"name", s.name},
              {"node", s.node},
              {"connected", s.connected},
              {"last_error", s.last_error},
              {"members", std::move(members)},
              {"replacements", std::move(replacements)},
              {"acme_renewers", s.acme_renewers},
              {"problems", s.problems}};
}

}  // namespace tlsgate::cluster
