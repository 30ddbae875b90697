#include "net/restart_only.h"

#include <set>

namespace tlsgate::net {
namespace {

class Diff {
 public:
  explicit Diff(const config::Config& next) : next_(next) {}

  template <typename T>
  void key(const std::string& key, const T& before, const T& after) {
    if (before == after) return;
    out_.push_back({key, next_.where(key), "changed"});
  }
  void whole(const std::string& key, config::Location where, const char* what) {
    out_.push_back({key, std::move(where), what});
  }
  std::vector<RestartOnlyChange> take() { return std::move(out_); }

 private:
  const config::Config& next_;
  std::vector<RestartOnlyChange> out_;
};

void connector(Diff& d, const config::Connector& a, const config::Connector& b) {
  const std::string c = "connector." + a.name + ".";
  d.key(c + "listen_address", a.listen_address, b.listen_address);
  d.key(c + "upstream_address", a.upstream_address, b.upstream_address);
  d.key(c + "protocol", a.protocol, b.protocol);
  d.key(c + "tls_level", a.tls_level, b.tls_level);
  d.key(c + "ssl_policy", a.ssl_policy, b.ssl_policy);
  d.key(c + "upstream_ssl_policy", a.upstream_ssl_policy, b.upstream_ssl_policy);
  d.key(c + "upstream_server_name", a.upstream_server_name, b.upstream_server_name);
  d.key(c + "proxy_protocol", a.proxy_protocol, b.proxy_protocol);
  // The map's content reloads; which file it is does not.
  d.key(c + "user_map", a.user_map, b.user_map);
  d.key(c + "max_connections", a.max_connections, b.max_connections);
  d.key(c + "advertise", a.advertise, b.advertise);
  d.key(c + "nats_tls_first_window", a.nats_tls_first_window, b.nats_tls_first_window);
  d.key(c + "upstream_tls_first", a.upstream_tls_first, b.upstream_tls_first);
}

void server(Diff& d, const config::Server& a, const config::Server& b) {
  d.key("server.worker_threads", a.worker_threads, b.worker_threads);
  d.key("server.shutdown_timeout", a.shutdown_timeout, b.shutdown_timeout);
  d.key("server.reload_settle", a.reload_settle, b.reload_settle);
  d.key("server.ticket_key_rotation", a.ticket_key_rotation, b.ticket_key_rotation);
  d.key("server.idle_timeout", a.idle_timeout, b.idle_timeout);
  d.key("server.log_level", a.log_level, b.log_level);
  d.key("server.log_format", a.log_format, b.log_format);
  d.key("server.state_dir", a.state_dir, b.state_dir);
}

void admin(Diff& d, const config::Admin& a, const config::Admin& b) {
  d.key("admin.enabled", a.enabled, b.enabled);
  d.key("admin.listen_address", a.listen_address, b.listen_address);
  d.key("admin.ssl_policy", a.ssl_policy, b.ssl_policy);
  d.key("admin.allowed_identities", a.allowed_identities, b.allowed_identities);
  d.key("admin.read_only_identities", a.read_only_identities, b.read_only_identities);
  d.key("admin.metrics_address", a.metrics_address, b.metrics_address);
}

void cluster(Diff& d, const config::Cluster& a, const config::Cluster& b) {
  d.key("cluster.enabled", a.enabled, b.enabled);
  d.key("cluster.name", a.name, b.name);
  d.key("cluster.node_name", a.node_name, b.node_name);
  d.key("cluster.members", a.members, b.members);
  d.key("cluster.etcd_endpoints", a.etcd_endpoints, b.etcd_endpoints);
  d.key("cluster.ssl_policy", a.ssl_policy, b.ssl_policy);
  d.key("cluster.etcd_insecure", a.etcd_insecure, b.etcd_insecure);
  d.key("cluster.key_prefix", a.key_prefix, b.key_prefix);
  d.key("cluster.scopes", a.scopes, b.scopes);
  d.key("cluster.secret_file", a.secret_file, b.secret_file);
  d.key("cluster.switch_before_expiry", a.switch_before_expiry, b.switch_before_expiry);
  d.key("cluster.lease_ttl", a.lease_ttl, b.lease_ttl);
}

// The ACME manager runs with the settings it started with (acme/manager.h);
// the rest of a policy is applied by the reload.
void acme(Diff& d, const config::Policy& a, const config::Policy& b) {
  const std::string p = "ssl.policy." + b.scope + ".";
  d.key(p + "acme_directory", a.acme_directory, b.acme_directory);
  d.key(p + "acme_email", a.acme_email, b.acme_email);
  d.key(p + "acme_names", a.acme_names, b.acme_names);
  d.key(p + "acme_challenge", a.acme_challenge, b.acme_challenge);
  d.key(p + "acme_http_address", a.acme_http_address, b.acme_http_address);
  d.key(p + "acme_key_type", a.acme_key_type, b.acme_key_type);
  d.key(p + "acme_ca_bundle", a.acme_ca_bundle, b.acme_ca_bundle);
  d.key(p + "acme_eab_kid", a.acme_eab_kid, b.acme_eab_kid);
  d.key(p + "acme_eab_hmac_file", a.acme_eab_hmac_file, b.acme_eab_hmac_file);
}

}  // namespace

std::vector<RestartOnlyChange> restart_only_changes(const config::Config& started,
                                                    const config::Config& next) {
  Diff d(next);
  std::set<std::string> names;
  for (const auto& [name, c] : started.connectors) names.insert(name);
  for (const auto& [name, c] : next.connectors) names.insert(name);
  for (const auto& name : names) {
    auto before = started.connectors.find(name);
    auto after = next.connectors.find(name);
    const std::string key = "connector." + name + ".*";
    if (before == started.connectors.end()) {
      d.whole(key, next.where("connector." + name + ".listen_address"), "added");
    } else if (after == next.connectors.end()) {
      d.whole(key, next.where(key), "removed");
    } else {
      connector(d, before->second, after->second);
    }
  }
  server(d, started.server, next.server);
  admin(d, started.admin, next.admin);
  cluster(d, started.cluster, next.cluster);
  static const config::Policy kNone;
  for (const auto& [scope, p] : next.policies) {
    auto old = started.policies.find(scope);
    acme(d, old == started.policies.end() ? kNone : old->second, p);
  }
  return d.take();
}

std::string describe(const RestartOnlyChange& change) {
  std::string where = change.where.file;
  if (change.where.line > 0) where += ":" + std::to_string(change.where.line);
  return where + ": " + change.key + " " + change.what +
         "; it takes effect only after a restart (systemctl restart tlsgate)";
}

}  // namespace tlsgate::net
