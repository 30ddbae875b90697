#include "config/config_builder.h"

#include <unistd.h>

#include <functional>
#include <map>
#include <optional>
#include <type_traits>

#include "config/enum_names.h"
#include "config/key_pattern.h"
#include "config/value_parsers.h"

namespace tlsgate::config::detail {
namespace {

namespace fs = std::filesystem;

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};

// A Value of the field's own type; the key's ValueType guarantees the match.
template <typename M>
void assign(M& field, const Value& v) {
  if constexpr (IsOptional<M>::value) {
    typename M::value_type inner{};
    assign(inner, v);
    field = std::move(inner);
  } else if constexpr (std::is_enum_v<M>) {
    field = enum_from<M>(std::get<std::string>(v));
  } else if constexpr (std::is_integral_v<M> && !std::is_same_v<M, bool>) {
    field = static_cast<M>(std::get<uint64_t>(v));
  } else {
    field = std::get<M>(v);
  }
}

template <typename S>
using Setters = std::map<std::string_view, std::function<void(S&, const Value&)>>;

template <typename S, typename M>
std::function<void(S&, const Value&)> member(M S::*field) {
  return [field](S& s, const Value& v) { assign(s.*field, v); };
}

const Setters<Policy>& policy_setters() {
  static const Setters<Policy> table{
      {"enabled", member(&Policy::enabled)},
      {"base_directory", member(&Policy::base_directory)},
      {"private_key", member(&Policy::private_key)},
      {"private_key_password", member(&Policy::private_key_password)},
      {"pkcs11_module", member(&Policy::pkcs11_module)},
      {"public_certificate", member(&Policy::public_certificate)},
      {"trusted_dir", member(&Policy::trusted_dir)},
      {"revoked_dir", member(&Policy::revoked_dir)},
      {"client_auth", member(&Policy::client_auth)},
      {"verify_hostname", member(&Policy::verify_hostname)},
      {"tls_versions", member(&Policy::tls_versions)},
      {"ciphers", member(&Policy::ciphers)},
      {"groups", member(&Policy::groups)},
      {"handshake_timeout", member(&Policy::handshake_timeout)},
      {"trust_all", member(&Policy::trust_all)},
      {"pinned_certs", member(&Policy::pinned_certs)},
      {"allowed_identities", member(&Policy::allowed_identities)},
      {"identity_from", member(&Policy::identity_from)},
      {"known_peers", member(&Policy::known_peers)},
      {"ocsp_stapling", member(&Policy::ocsp_stapling)},
      {"ocsp_responder", member(&Policy::ocsp_responder)},
      {"revocation_checks", member(&Policy::revocation_checks)},
      {"stale_crl", member(&Policy::stale_crl)},
      {"revalidate_established", member(&Policy::revalidate_established)},
      {"implicit_trust_renewed", member(&Policy::implicit_trust_renewed)},
      {"acme_directory", member(&Policy::acme_directory)},
      {"acme_email", member(&Policy::acme_email)},
      {"acme_names", member(&Policy::acme_names)},
      {"acme_challenge", member(&Policy::acme_challenge)},
      {"acme_http_address", member(&Policy::acme_http_address)},
      {"acme_key_type", member(&Policy::acme_key_type)},
      {"acme_ca_bundle", member(&Policy::acme_ca_bundle)},
      {"acme_eab_kid", member(&Policy::acme_eab_kid)},
      {"acme_eab_hmac_file", member(&Policy::acme_eab_hmac_file)},
  };
  return table;
}

const Setters<Connector>& connector_setters() {
  static const Setters<Connector> table{
      {"listen_address", member(&Connector::listen_address)},
      {"upstream_address", member(&Connector::upstream_address)},
      {"protocol", member(&Connector::protocol)},
      {"tls_level", member(&Connector::tls_level)},
      {"ssl_policy", member(&Connector::ssl_policy)},
      {"upstream_ssl_policy", member(&Connector::upstream_ssl_policy)},
      {"upstream_server_name", member(&Connector::upstream_server_name)},
      {"proxy_protocol", member(&Connector::proxy_protocol)},
      {"user_map", member(&Connector::user_map)},
      {"max_connections", member(&Connector::max_connections)},
      {"advertise", member(&Connector::advertise)},
      {"nats_tls_first_window", member(&Connector::nats_tls_first_window)},
      {"upstream_tls_first", member(&Connector::upstream_tls_first)},
  };
  return table;
}

const Setters<Server>& server_setters() {
  static const Setters<Server> table{
      {"worker_threads", member(&Server::worker_threads)},
      {"shutdown_timeout", member(&Server::shutdown_timeout)},
      {"reload_settle", member(&Server::reload_settle)},
      {"ticket_key_rotation", member(&Server::ticket_key_rotation)},
      {"idle_timeout", member(&Server::idle_timeout)},
      {"log_level", member(&Server::log_level)},
      {"log_format", member(&Server::log_format)},
      {"state_dir", member(&Server::state_dir)},
  };
  return table;
}

const Setters<Admin>& admin_setters() {
  static const Setters<Admin> table{
      {"enabled", member(&Admin::enabled)},
      {"listen_address", member(&Admin::listen_address)},
      {"ssl_policy", member(&Admin::ssl_policy)},
      {"allowed_identities", member(&Admin::allowed_identities)},
      {"read_only_identities", member(&Admin::read_only_identities)},
      {"metrics_address", member(&Admin::metrics_address)},
  };
  return table;
}

const Setters<Cluster>& cluster_setters() {
  static const Setters<Cluster> table{
      {"enabled", member(&Cluster::enabled)},
      {"name", member(&Cluster::name)},
      {"node_name", member(&Cluster::node_name)},
      {"members", member(&Cluster::members)},
      {"etcd_endpoints", member(&Cluster::etcd_endpoints)},
      {"ssl_policy", member(&Cluster::ssl_policy)},
      {"etcd_insecure", member(&Cluster::etcd_insecure)},
      {"key_prefix", member(&Cluster::key_prefix)},
      {"scopes", member(&Cluster::scopes)},
      {"secret_file", member(&Cluster::secret_file)},
      {"switch_before_expiry", member(&Cluster::switch_before_expiry)},
      {"lease_ttl", member(&Cluster::lease_ttl)},
  };
  return table;
}

template <typename S>
void set(const Setters<S>& table, std::string_view suffix, S& target, const Value& v) {
  table.at(suffix)(target, v);
}

// Lexically normal, without a trailing separator ("/etc/certs/" -> "/etc/certs").
fs::path tidy(const fs::path& p) {
  auto n = p.lexically_normal();
  if (!n.has_filename() && n.has_relative_path()) n = n.parent_path();
  return n;
}

fs::path resolve(const fs::path& base, const fs::path& given, const char* fallback) {
  return tidy(base / (given.empty() ? fs::path(fallback) : given));
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

Diagnostic unknown_key(const Entry& entry) {
  if (auto bad = bad_name_in_key(entry.key)) {
    return {Diagnostic::Severity::kError, entry.where, entry.key, bad->problem, bad->fix};
  }
  Diagnostic d{Diagnostic::Severity::kError, entry.where, entry.key, "unknown key",
               "remove it or check the spelling"};
  if (auto near = nearest_key(entry.key)) {
    bool from_env = entry.where.line == 0 && entry.where.file.starts_with("environment ");
    d.fix = "did you mean " + (from_env ? environment_name(*near) : *near) + "?";
  }
  return d;
}

}  // namespace

ConfigBuilder::ConfigBuilder(std::string source, std::filesystem::path file) {
  config_.source = std::move(source);
  config_.file = std::move(file);
}

void ConfigBuilder::apply(const Entry& entry, std::vector<Diagnostic>& diagnostics) {
  auto match = match_key(entry.key);
  if (!match && is_neo4j_key(entry.key)) {
    // A neo4j.conf used as it is: its SSL policies take effect, the rest is
    // Neo4j's own business.
    diagnostics.push_back({Diagnostic::Severity::kWarning, entry.where, entry.key,
                           "ignored: a Neo4j setting, tlsgate does not use it", ""});
    return;
  }
  if (!match) {
    diagnostics.push_back(unknown_key(entry));
    return;
  }
  // Naming a scope or connector creates it, even when the value is bad, so
  // that cross-checks see what the file meant.
  const auto& pattern = match->doc->pattern;
  Policy* policy = nullptr;
  Connector* connector = nullptr;
  if (pattern.starts_with("ssl.policy.")) {
    policy = &config_.policies[match->var];
    policy->scope = match->var;
  } else if (pattern.starts_with("connector.")) {
    connector = &config_.connectors[match->var];
    connector->name = match->var;
  }

  auto value = parse_value(*match->doc, entry.value);
  if (!value) {
    diagnostics.push_back({Diagnostic::Severity::kError, entry.where, entry.key,
                           value.error().problem, value.error().fix});
    rejected_.insert(match->canonical);
    return;
  }
  rejected_.erase(match->canonical);
  config_.origins[match->canonical] = entry.where;
  if (!match->doc->not_implemented.empty()) {
    diagnostics.push_back(
        {Diagnostic::Severity::kWarning, entry.where, entry.key,
         "accepted but not implemented yet, so it has no effect: " + match->doc->not_implemented,
         "remove it, or do not rely on it in this version"});
  }

  auto suffix = std::string_view(pattern).substr(pattern.rfind('.') + 1);
  if (policy) {
    set(policy_setters(), suffix, *policy, *value);
  } else if (connector) {
    set(connector_setters(), suffix, *connector, *value);
  } else if (pattern.starts_with("server.")) {
    set(server_setters(), suffix, config_.server, *value);
  } else if (pattern.starts_with("admin.")) {
    set(admin_setters(), suffix, config_.admin, *value);
  } else if (pattern.starts_with("cluster.")) {
    set(cluster_setters(), suffix, config_.cluster, *value);
  }
}

Config ConfigBuilder::finish() {
  Config c = config_;
  const fs::path dir = c.file.empty() ? fs::current_path() : c.file.parent_path();
  auto is_set = [&](const std::string& key) { return c.origins.count(key) != 0; };

  for (auto& [scope, p] : c.policies) {
    auto base = tidy(
        dir / (p.base_directory.empty() ? fs::path("certificates") / scope : p.base_directory));
    p.base_directory = base;
    // A pkcs11: URI names a key on a token, not a file under base_directory.
    if (!is_pkcs11_uri(p.private_key)) p.private_key = resolve(base, p.private_key, "private.key");
    if (!p.pkcs11_module.empty() && p.pkcs11_module.is_relative() &&
        p.pkcs11_module.has_parent_path()) {
      p.pkcs11_module = tidy(dir / p.pkcs11_module);
    }
    p.public_certificate = resolve(base, p.public_certificate, "public.crt");
    p.trusted_dir = resolve(base, p.trusted_dir, "trusted");
    p.revoked_dir = resolve(base, p.revoked_dir, "revoked");
    if (!p.acme_ca_bundle.empty()) p.acme_ca_bundle = tidy(dir / p.acme_ca_bundle);
    if (!p.acme_eab_hmac_file.empty()) p.acme_eab_hmac_file = tidy(dir / p.acme_eab_hmac_file);
    if (!is_set("ssl.policy." + scope + ".client_auth")) {
      p.client_auth =
          scope == "cluster" || scope == "backup" ? ClientAuth::kRequire : ClientAuth::kOptional;
    }
  }
  for (auto& [name, conn] : c.connectors) {
    const std::string prefix = "connector." + name + ".";
    if (!is_set(prefix + "ssl_policy")) conn.ssl_policy = name;
    if (!is_set(prefix + "upstream_server_name"))
      conn.upstream_server_name = conn.upstream_address.host;
    if (conn.user_map) conn.user_map = tidy(dir / *conn.user_map);
  }
  c.server.state_dir = resolve(dir, c.server.state_dir, "state");
  if (!is_set("cluster.node_name")) c.cluster.node_name = host_name();
  if (!c.cluster.secret_file.empty()) c.cluster.secret_file = tidy(dir / c.cluster.secret_file);
  return c;
}

}  // namespace tlsgate::config::detail
