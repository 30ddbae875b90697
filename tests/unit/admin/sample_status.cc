#include "sample_status.h"

#include <stdexcept>

#include "support/policy_folder.h"
#include "tls/context.h"

namespace tlsgate::test {

SampleGate make_sample_gate(const std::filesystem::path& dir) {
  SampleGate g{make_test_ca("Admin Test CA"), {}, {}, {}};
  g.leaf = make_leaf(g.ca, {"localhost", "127.0.0.1"});
  g.policy = make_policy(dir, "pg", g.ca, g.leaf);
  auto ctx = tls::build_context(g.policy, tls::Side::kServer, {}, util::SystemClock::instance());
  if (!ctx) throw std::runtime_error(ctx.error().message());

  auto& s = g.status;
  s.version = "0.1.0";
  s.config_file = "/etc/tlsgate/tlsgate.conf";
  s.started_at = std::chrono::system_clock::now() - std::chrono::seconds(90);
  s.workers = 2;
  net::ConnectorStatus c;
  c.name = "pg";
  c.listen_address = "127.0.0.1:6432";
  c.upstream_address = "127.0.0.1:5432";
  c.protocol = "postgres";
  c.tls_level = "REQUIRED";
  c.ssl_policy = "pg";
  c.accepted = 10;
  c.active = 2;
  c.refused = {{"max_connections", 0}, {"no_descriptors", 0}, {"tls_setup", 1}};
  c.handshakes[{"TLSv1.3", false}] = 8;
  c.handshakes[{"TLSv1.3", true}] = 1;
  for (size_t i = 0; i < tls::kFailureReasonCount; ++i) {
    c.handshake_failures[std::string(tls::reason_name(static_cast<tls::FailureReason>(i)))] = 0;
    c.upstream_failures[std::string(tls::reason_name(static_cast<tls::FailureReason>(i)))] = 0;
  }
  c.handshake_failures["unknown_ca"] = 3;
  c.bytes_from_clients = 1000;
  c.bytes_to_clients = 2000;
  c.revalidation_closed = {
      {"revoked", 0}, {"expired", 1}, {"policy_changed", 0}, {"user_map_changed", 0}};
  s.connectors.push_back(c);
  net::PolicyStatus p;
  p.scope = "pg";
  p.side = tls::Side::kServer;
  p.context = *ctx;
  p.state.reloads_ok = 3;
  p.state.reloads_failed = 1;
  p.state.serial = (*ctx)->certificate->serial_hex;
  p.state.not_after = (*ctx)->certificate->not_after;
  p.state.loaded_at = std::chrono::system_clock::now();
  p.connectors = {"pg"};
  s.policies.push_back(p);
  net::ReloadEvent e;
  e.at = std::chrono::system_clock::now();
  e.scope = "pg";
  e.ok = true;
  e.changed = true;
  e.old_serial = "1f";
  e.new_serial = p.state.serial;
  s.reloads.push_back(e);
  net::FailureMinute m;
  m.start = std::chrono::system_clock::now();
  m.by_reason["unknown_ca"] = 3;
  s.failures.push_back(m);
  return g;
}

}  // namespace tlsgate::test
