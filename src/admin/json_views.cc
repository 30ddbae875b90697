#include "admin/json_views.h"

#include <ctime>
#include <map>

namespace tlsgate::admin {
namespace {

using nlohmann::json;

json time_or_null(const std::optional<util::SystemTime>& t) {
  return t ? json(rfc3339(*t)) : json(nullptr);
}

// Whole days from now to t, negative once past (as pki::describe counts).
long days_until(util::SystemTime t, util::SystemTime now) {
  auto hours = std::chrono::duration_cast<std::chrono::hours>(t - now).count();
  return static_cast<long>(hours >= 0 ? hours / 24 : -((-hours + 23) / 24));
}

json connector_json(const net::ConnectorStatus& c) {
  json handshakes = json::array();
  for (const auto& [key, count] : c.handshakes) {
    handshakes.push_back({{"version", key.first}, {"resumed", key.second}, {"count", count}});
  }
  return {{"name", c.name},
          {"listen_address", c.listen_address},
          {"upstream_address", c.upstream_address},
          {"protocol", c.protocol},
          {"tls_level", c.tls_level},
          {"ssl_policy", c.ssl_policy},
          {"upstream_ssl_policy", c.upstream_ssl_policy},
          {"accepted", c.accepted},
          {"active", c.active},
          {"refused", c.refused},
          {"handshakes", std::move(handshakes)},
          {"handshake_failures", c.handshake_failures},
          {"upstream_failures", c.upstream_failures},
          {"bytes_from_clients", c.bytes_from_clients},
          {"bytes_to_clients", c.bytes_to_clients},
          {"revalidation_closed", c.revalidation_closed}};
}

json user_map_json(const net::UserMapStatus& m) {
  return {{"connector", m.connector}, {"file", m.file}, {"ok", m.ok}, {"error", m.error}};
}

json staple_json(const net::StapleState& st) {
  return {{"status", st.status},
          {"responder", st.responder},
          {"this_update", time_or_null(st.this_update)},
          {"next_update", time_or_null(st.next_update)},
          {"last_fetch", time_or_null(st.last_fetch)},
          {"last_error", st.last_error}};
}

json policy_json(const net::PolicyStatus& p, const net::GateStatus& s, util::SystemTime now) {
  json out = {{"policy", p.scope},
              {"side", side_name(p.side)},
              {"connectors", p.connectors},
              {"loaded_at", rfc3339(p.state.loaded_at)},
              {"reloads_ok", p.state.reloads_ok},
              {"reloads_failed", p.state.reloads_failed},
              {"last_error", p.state.last_error},
              {"certificate", nullptr},
              {"ocsp", nullptr},
              {"crls", json::array()},
              {"trusted", json::array()}};
  if (!p.context) {
    out["source"] = {{"private_key", ""}, {"public_certificate", ""}};
    return out;
  }
  const auto& policy = p.context->policy;
  out["source"] = {{"private_key", policy.private_key.string()},
                   {"public_certificate", policy.public_certificate.string()}};
  if (p.context->certificate) out["certificate"] = certificate_json(*p.context->certificate, now);
  if (p.side == tls::Side::kServer && policy.ocsp_stapling) {
    for (const auto& st : s.staples) {
      if (st.scope == p.scope) out["ocsp"] = staple_json(st);
    }
  }
  for (const auto& crl : p.context->crls) {
    out["crls"].push_back({{"file", crl.file.string()},
                           {"issuer", crl.issuer},
                           {"next_update", time_or_null(crl.next_update)},
                           {"stale", crl.stale_at(now)}});
  }
  for (const auto& ca : p.context->trusted) {
    out["trusted"].push_back({{"subject", ca.subject},
                              {"not_after", rfc3339(ca.not_after)},
                              {"days_left", days_until(ca.not_after, now)}});
  }
  return out;
}

}  // namespace

std::string rfc3339(util::SystemTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string side_name(tls::Side side) { return side == tls::Side::kServer ? "server" : "client"; }

json error_json(const std::string& error, const std::string& fix) {
  return {{"error", error}, {"fix", fix}};
}

json certificate_json(const pki::CertificateInfo& c, util::SystemTime now) {
  return {{"subject", c.subject},
          {"issuer", c.issuer},
          {"serial", c.serial_hex},
          {"san_dns", c.san_dns},
          {"san_ip", c.san_ip},
          {"san_email", c.san_email},
          {"san_uri", c.san_uri},
          {"not_before", rfc3339(c.not_before)},
          {"not_after", rfc3339(c.not_after)},
          {"days_left", days_until(c.not_after, now)},
          {"key_type", c.key_type},
          {"key_curve", c.key_curve},
          {"key_bits", c.key_bits},
          {"spki_pin", "sha256//" + c.pin_base64},
          {"fingerprint_sha256", c.fingerprint_sha256}};
}

json status_json(const net::GateStatus& s, util::SystemTime now) {
  json connectors = json::array();
  for (const auto& c : s.connectors) connectors.push_back(connector_json(c));
  json reloads = json::array();
  for (const auto& r : s.reloads) {
    reloads.push_back({{"at", rfc3339(r.at)},
                       {"policy", r.scope},
                       {"side", side_name(r.side)},
                       {"ok", r.ok},
                       {"changed", r.changed},
                       {"old_serial", r.old_serial},
                       {"new_serial", r.new_serial},
                       {"error", r.error}});
  }
  json failures = json::array();
  for (const auto& m : s.failures) {
    failures.push_back({{"start", rfc3339(m.start)}, {"by_reason", m.by_reason}});
  }
  json last_reload = nullptr;
  if (s.last_config_reload) {
    last_reload = {{"at", rfc3339(*s.last_config_reload)},
                   {"ok", s.last_config_reload_error.empty()},
                   {"error", s.last_config_reload_error},
                   {"warnings", s.last_config_reload_warnings}};
  }
  json user_maps = json::array();
  for (const auto& m : s.user_maps) user_maps.push_back(user_map_json(m));
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(now - s.started_at).count();
  return {{"version", s.version},
          {"started_at", rfc3339(s.started_at)},
          {"uptime_seconds", uptime < 0 ? 0 : uptime},
          {"workers", s.workers},
          {"config_file", s.config_file},
          {"last_config_reload", std::move(last_reload)},
          {"connectors", std::move(connectors)},
          {"user_maps", std::move(user_maps)},
          {"ocsp",
           {{"fetches", s.ocsp_fetches},
            {"fetch_failures", s.ocsp_fetch_failures},
            {"own_revoked", s.ocsp_own_revoked}}},
          {"reloads", std::move(reloads)},
          {"failures", std::move(failures)}};
}

json certificates_json(const net::GateStatus& s, util::SystemTime now) {
  json policies = json::array();
  for (const auto& p : s.policies) policies.push_back(policy_json(p, s, now));
  return {{"policies", std::move(policies)}};
}

json connections_json(const std::vector<net::ConnectionInfo>& list) {
  json out = json::array();
  for (const auto& c : list) {
    out.push_back({{"id", std::to_string(c.id)},
                   {"connector", c.connector},
                   {"client", c.client},
                   {"identity", c.identity},
                   {"tls_version", c.tls_version},
                   {"cipher", c.cipher},
                   {"resumed", c.resumed},
                   {"since", rfc3339(c.since)},
                   {"bytes_from_client", c.bytes_from_client},
                   {"bytes_to_client", c.bytes_to_client}});
  }
  return {{"connections", std::move(out)}};
}

json reload_json(const net::ReloadOutcome& o) {
  bool ok = o.config_ok;
  json policies = json::array();
  for (const auto& r : o.reports) {
    ok = ok && r.ok;
    policies.push_back({{"policy", r.scope},
                        {"side", side_name(r.side)},
                        {"ok", r.ok},
                        {"changed", r.changed},
                        {"old_serial", r.old_serial},
                        {"new_serial", r.new_serial},
                        {"error", r.error}});
  }
  // A map that failed keeps the old one in force, as a policy that failed
  // keeps its old context: the reload did not fully apply.
  json user_maps = json::array();
  for (const auto& m : o.user_maps) {
    ok = ok && m.ok;
    auto j = user_map_json(m);
    j["changed"] = m.changed;
    user_maps.push_back(std::move(j));
  }
  return {{"ok", ok},
          {"config_errors", o.config_errors},
          {"warnings", o.warnings},
          {"policies", std::move(policies)},
          {"user_maps", std::move(user_maps)}};
}

json acme_json(const std::vector<acme::PolicyStatus>& policies, util::SystemTime now) {
  json out = json::array();
  for (const auto& p : policies) {
    json j = {{"policy", p.scope},
              {"directory", p.directory},
              {"names", p.names},
              {"has_certificate", p.has_certificate},
              {"issued", p.issued},
              {"failures", p.failures},
              {"next_attempt", rfc3339(p.next_attempt)},
              {"last_error", p.last_error.empty() ? json(nullptr) : json(p.last_error)}};
    if (p.has_certificate) {
      j["not_after"] = rfc3339(p.not_after);
      j["days_left"] = days_until(p.not_after, now);
    }
    out.push_back(std::move(j));
  }
  return {{"policies", out}};
}

}  // namespace tlsgate::admin
