#include "admin/metrics.h"

#include <deque>
#include <map>
#include <sstream>
#include <tuple>

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include "admin/json_views.h"

namespace tlsgate::admin {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

double seconds(util::SystemTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

class Families {
 public:
  MetricFamily& family(const std::string& name, MetricType type, const std::string& help) {
    for (auto& f : out_) {
      if (f.name == name) return f;
    }
    out_.push_back({name, help, type, {}});
    return out_.back();
  }
  void add(MetricFamily& f, Labels labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    if (f.type == MetricType::Counter) {
      m.counter.value = value;
    } else {
      m.gauge.value = value;
    }
    f.metric.push_back(std::move(m));
  }
  std::vector<MetricFamily> all() { return {out_.begin(), out_.end()}; }

 private:
  std::deque<MetricFamily> out_;  // references handed out stay valid
};

void certificates(Families& fs, const net::GateStatus& s) {
  auto& after = fs.family("tlsgate_certificate_not_after_seconds", MetricType::Gauge,
                          "The certificate a policy serves: its notAfter, seconds since the epoch");
  auto& before =
      fs.family("tlsgate_certificate_not_before_seconds", MetricType::Gauge,
                "The certificate a policy serves: its notBefore, seconds since the epoch");
  auto& reloads =
      fs.family("tlsgate_reloads_total", MetricType::Counter,
                "Context builds of a policy (files changed, SIGHUP, the admin API), by result");
  auto& last_ok = fs.family("tlsgate_reload_last_success_timestamp_seconds", MetricType::Gauge,
                            "When a policy's context was last built and published");
  auto& crl_next = fs.family("tlsgate_crl_next_update_seconds", MetricType::Gauge,
                             "nextUpdate of each CRL in a policy's revoked_dir");
  auto& crl_stale = fs.family("tlsgate_crl_stale", MetricType::Gauge,
                              "1 when a CRL of a policy is past its nextUpdate");
  // Per policy: both sides of one policy share its files and its counts.
  std::map<std::string, std::pair<uint64_t, uint64_t>> counts;
  std::map<std::string, util::SystemTime> loaded;
  std::map<std::pair<std::string, std::string>, const tls::CrlFile*> crls;
  const auto now = std::chrono::system_clock::now();
  for (const auto& p : s.policies) {
    counts[p.scope].first += p.state.reloads_ok;
    counts[p.scope].second += p.state.reloads_failed;
    auto& at = loaded[p.scope];
    if (p.state.loaded_at > at) at = p.state.loaded_at;
    if (!p.context) continue;
    if (const auto& c = p.context->certificate) {
      Labels l{{"policy", p.scope},
               {"side", side_name(p.side)},
               {"serial", c->serial_hex},
               {"subject", c->subject}};
      fs.add(after, l, seconds(c->not_after));
      fs.add(before, l, seconds(c->not_before));
    }
    for (const auto& crl : p.context->crls) crls.emplace(std::pair{p.scope, crl.issuer}, &crl);
  }
  for (const auto& [scope, n] : counts) {
    fs.add(reloads, {{"policy", scope}, {"result", "ok"}}, static_cast<double>(n.first));
    fs.add(reloads, {{"policy", scope}, {"result", "failed"}}, static_cast<double>(n.second));
    if (loaded[scope] != util::SystemTime{}) {
      fs.add(last_ok, {{"policy", scope}}, seconds(loaded[scope]));
    }
  }
  for (const auto& [key, crl] : crls) {
    Labels l{{"policy", key.first}, {"issuer", key.second}};
    if (crl->next_update) fs.add(crl_next, l, seconds(*crl->next_update));
    fs.add(crl_stale, l, crl->stale_at(now) ? 1 : 0);
  }
}

void staples(Families& fs, const net::GateStatus& s) {
  auto& next = fs.family("tlsgate_ocsp_staple_next_update_seconds", MetricType::Gauge,
                         "nextUpdate of the OCSP response a policy staples");
  auto& status = fs.family("tlsgate_ocsp_staple_status", MetricType::Gauge,
                           "1 for the status of the OCSP response a policy staples now");
  for (const auto& st : s.staples) {
    if (st.next_update) fs.add(next, {{"policy", st.scope}}, seconds(*st.next_update));
    for (const char* word : {"good", "revoked", "unknown", "none"}) {
      fs.add(status, {{"policy", st.scope}, {"status", word}}, st.status == word ? 1 : 0);
    }
  }
}

void connectors(Families& fs, const net::GateStatus& s) {
  auto& accepted = fs.family("tlsgate_connections_accepted_total", MetricType::Counter,
                             "Client connections accepted by a connector");
  auto& active = fs.family("tlsgate_connections_active", MetricType::Gauge,
                           "Client connections of a connector open now");
  auto& refused = fs.family("tlsgate_connections_refused_total", MetricType::Counter,
                            "Client connections closed at accept, before a session began");
  auto& handshakes = fs.family("tlsgate_handshakes_total", MetricType::Counter,
                               "Completed client TLS handshakes by version and resumption");
  auto& failures = fs.family("tlsgate_handshake_failures_total", MetricType::Counter,
                             "Clients refused during or right after the TLS handshake, by reason");
  auto& upstream = fs.family("tlsgate_upstream_failures_total", MetricType::Counter,
                             "Connections to the backend that failed, by reason");
  auto& bytes = fs.family("tlsgate_bytes_total", MetricType::Counter,
                          "Bytes relayed: read from clients and written to them");
  auto& revalidation =
      fs.family("tlsgate_connections_closed_revalidation_total", MetricType::Counter,
                "Established connections closed because a re-check would refuse them now");
  auto n = [](uint64_t v) { return static_cast<double>(v); };
  for (const auto& c : s.connectors) {
    Labels l{{"connector", c.name}};
    fs.add(accepted, l, n(c.accepted));
    fs.add(active, l, n(c.active));
    for (const auto& [reason, v] : c.refused) fs.add(refused, {l[0], {"reason", reason}}, n(v));
    for (const auto& [key, v] : c.handshakes) {
      fs.add(handshakes, {l[0], {"version", key.first}, {"resumed", key.second ? "true" : "false"}},
             n(v));
    }
    for (const auto& [reason, v] : c.handshake_failures)
      fs.add(failures, {l[0], {"reason", reason}}, n(v));
    for (const auto& [reason, v] : c.upstream_failures)
      fs.add(upstream, {l[0], {"reason", reason}}, n(v));
    fs.add(bytes, {l[0], {"direction", "from_clients"}}, n(c.bytes_from_clients));
    fs.add(bytes, {l[0], {"direction", "to_clients"}}, n(c.bytes_to_clients));
    for (const auto& [reason, v] : c.revalidation_closed)
      fs.add(revalidation, {l[0], {"reason", reason}}, n(v));
  }
  if (s.user_maps.empty()) return;
  auto& map_failing =
      fs.family("tlsgate_user_map_failing", MetricType::Gauge,
                "1 while a connector's user_map does not parse (the old map stays in force)");
  for (const auto& m : s.user_maps) fs.add(map_failing, {{"connector", m.connector}}, m.ok ? 0 : 1);
}

// Each step of a replacement is a metric (issue 15): its phase, and each
// member's state in it, as 0/1 gauges (one series per possible value, so a
// dashboard sees a series go to 0); the members' liveness and etcd's.
void cluster_metrics(Families& fs, const cluster::ClusterStatus& s) {
  auto& connected = fs.family("tlsgate_cluster_etcd_connected", MetricType::Gauge,
                              "1 while this node's last exchange with etcd worked");
  fs.add(connected, {}, s.connected ? 1 : 0);
  auto& up = fs.family("tlsgate_cluster_member_up", MetricType::Gauge,
                       "1 while the member holds its lease in etcd");
  for (const auto& m : s.members) fs.add(up, {{"node", m}}, s.alive.at(m) ? 1 : 0);
  auto& phase = fs.family("tlsgate_cluster_replacement_phase", MetricType::Gauge,
                          "1 for the phase each certificate replacement is in");
  auto& node_state = fs.family(
      "tlsgate_cluster_replacement_node_state", MetricType::Gauge,
      "1 for each member's state in a certificate replacement (waiting until it reports)");
  using cluster::NodeState;
  using cluster::Phase;
  for (const auto& r : s.replacements) {
    for (Phase p : {Phase::kProposed, Phase::kTrusting, Phase::kStaged, Phase::kCommitted,
                    Phase::kApplied, Phase::kFailed, Phase::kAborted}) {
      fs.add(phase,
             {{"replacement", r.record.id}, {"scope", r.record.scope}, {"phase", to_string(p)}},
             r.phase == p ? 1 : 0);
    }
    for (const auto& m : s.members) {
      auto it = r.reports.find(m);
      std::string current = it == r.reports.end() ? "waiting" : to_string(it->second.state);
      for (const char* state : {"waiting", "trusting", "staged", "failed", "applied"}) {
        fs.add(node_state, {{"replacement", r.record.id}, {"node", m}, {"state", state}},
               current == state ? 1 : 0);
      }
    }
  }
}

// ACME (docs/ACME.md): what to alert on before a certificate expires — a
// policy whose last attempt failed, and when the next one is.
void acme_metrics(Families& fs, const std::vector<acme::PolicyStatus>& policies) {
  auto& issued = fs.family("tlsgate_acme_certificates_issued_total", MetricType::Counter,
                           "Certificates obtained from the ACME server since start");
  auto& failures = fs.family("tlsgate_acme_failures_total", MetricType::Counter,
                             "Failed ACME issuance or renewal attempts since start");
  auto& failing = fs.family("tlsgate_acme_failing", MetricType::Gauge,
                            "1 while the last ACME attempt of the policy failed");
  auto& next = fs.family("tlsgate_acme_next_attempt_timestamp_seconds", MetricType::Gauge,
                         "When the policy's certificate is renewed or retried next (Unix time)");
  for (const auto& p : policies) {
    Labels l{{"policy", p.scope}};
    fs.add(issued, l, static_cast<double>(p.issued));
    fs.add(failures, l, static_cast<double>(p.failures));
    fs.add(failing, l, p.last_error.empty() ? 0 : 1);
    fs.add(next, l, seconds(p.next_attempt));
  }
}

void admin_listener_metrics(Families& fs, const AdminListenerCounts& counts) {
  auto& failures = fs.family("tlsgate_admin_handshake_failures_total", MetricType::Counter,
                             "Admin API clients refused at or right after the TLS handshake, by "
                             "reason");
  for (size_t r = 0; r < tls::kFailureReasonCount; ++r) {
    fs.add(failures,
           {{"reason", std::string(tls::reason_name(static_cast<tls::FailureReason>(r)))}},
           static_cast<double>(counts.handshake_failures[r]));
  }
}

}  // namespace

std::string metrics_text(const net::GateStatus& status, const cluster::ClusterStatus* cluster,
                         const std::vector<acme::PolicyStatus>* acme,
                         const AdminListenerCounts* admin) {
  Families fs;
  certificates(fs, status);
  staples(fs, status);
  connectors(fs, status);
  if (cluster) cluster_metrics(fs, *cluster);
  if (acme) acme_metrics(fs, *acme);
  if (admin) admin_listener_metrics(fs, *admin);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, fs.all());
  return out.str();
}

}  // namespace tlsgate::admin
