#include "cluster/gate_host.h"

namespace tlsgate::cluster {

util::Result<LocalHost::ScopeFacts> GateHost::facts(const std::string& scope) {
  const auto status = gate_.status();
  const net::PolicyStatus* policy = net::policy_in_use(status, scope);
  if (!policy) {
    return util::fail("policy " + scope +
                      " is in cluster.scopes but no connector of this node uses it; give it a "
                      "connector, or remove it from cluster.scopes");
  }
  const auto& chosen = *policy;
  ScopeFacts f;
  f.target.policy = chosen.context->policy;
  f.target.serves_clients = chosen.side == tls::Side::kServer;
  add_listen_hosts(f.target, gate_.config(), scope);
  f.target.expand_commands = expand_commands_;
  if (chosen.context->certificate) {
    f.serial = chosen.context->certificate->serial_hex;
    f.not_after = chosen.context->certificate->not_after;
  }
  return f;
}

util::Result<std::string> GateHost::reload(const std::string& scope) {
  if (auto st = gate_.reload_policy_and_wait(scope, timeout_); !st) return util::fail(st.error());
  auto f = facts(scope);
  if (!f) return util::fail(f.error());
  return f->serial;
}

}  // namespace tlsgate::cluster
