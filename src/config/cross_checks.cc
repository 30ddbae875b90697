#include "config/cross_checks.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "config/value_parsers.h"

namespace tlsgate::config::detail {
namespace {

// A DNS name (letters, digits and hyphens in dot-separated labels of 1 to
// 63, at most 253 in all) or an IP literal: what an ACME order may name.
bool acme_name(std::string_view name) {
  if (name.find(':') != std::string_view::npos) {  // IPv6
    return std::all_of(name.begin(), name.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
    });
  }
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    auto label = name.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    start = end + 1;
  }
  return true;
}

class Checker {
 public:
  Checker(const Config& config, const std::set<std::string>& rejected)
      : c_(config), rejected_(rejected) {}

  std::vector<Diagnostic> run() {
    for (const auto& [name, conn] : c_.connectors) check_connector(name, conn);
    check_listeners();
    if (c_.admin.enabled) check_admin();
    if (c_.cluster.enabled) check_cluster();
    for (const auto& [scope, policy] : c_.policies) {
      check_acme(scope, policy);
      check_pkcs11(scope, policy);
      if (policy.trust_all) {
        warning("ssl.policy." + scope + ".trust_all",
                "trust_all is on: every peer is trusted without verification",
                "use it only for debugging");
        check_pins_under_trust_all(scope, policy);
      }
    }
    return std::move(out_);
  }

 private:
  void check_connector(const std::string& name, const Connector& conn) {
    const std::string prefix = "connector." + name + ".";
    for (const char* suffix : {"listen_address", "upstream_address"}) {
      auto key = prefix + suffix;
      if (!c_.origins.count(key) && !rejected_.count(key))
        error(key, "is required", "set " + key + "=host:port");
    }
    if (conn.tls_level != TlsLevel::kDisabled && !rejected_.count(prefix + "tls_level")) {
      check_policy(conn.ssl_policy, prefix + "ssl_policy", "set " + prefix + "tls_level=DISABLED");
    }
    if (conn.upstream_ssl_policy) {
      check_policy(*conn.upstream_ssl_policy, prefix + "upstream_ssl_policy",
                   "remove " + prefix + "upstream_ssl_policy");
    } else if (c_.origins.count(prefix + "upstream_server_name") &&
               !rejected_.count(prefix + "upstream_ssl_policy")) {
      warning(prefix + "upstream_server_name",
              "has no effect: the backend is reached in plaintext (no " + prefix +
                  "upstream_ssl_policy), so no name is sent or checked",
              "set " + prefix + "upstream_ssl_policy, or remove it");
    }
    if (conn.user_map && conn.protocol == Protocol::kTcp && !rejected_.count(prefix + "protocol")) {
      error(prefix + "user_map", "applies only to protocol=postgres, mysql or nats",
            "remove it or set " + prefix + "protocol");
    }
    check_nats(prefix, conn);
  }

  // The NATS keys mean nothing to other protocols; advertise items are what
  // clients will dial, so each must be a host:port they can use.
  void check_nats(const std::string& prefix, const Connector& conn) {
    const bool nats = conn.protocol == Protocol::kNats || rejected_.count(prefix + "protocol");
    for (const char* suffix : {"advertise", "nats_tls_first_window", "upstream_tls_first"}) {
      auto key = prefix + suffix;
      if (!nats && c_.origins.count(key)) {
        error(key, "applies only to protocol=nats", "remove it or set " + prefix + "protocol=nats");
      }
    }
    for (const auto& item : conn.advertise) {
      auto parsed = parse_address(item);
      if (!parsed) {
        error(prefix + "advertise", "\"" + item + "\": " + parsed.error().problem,
              parsed.error().fix);
      } else if (is_any_address(parsed->host)) {
        error(prefix + "advertise", "\"" + item + "\" names no host a client can dial",
              "give the gate's address as clients reach it, e.g. gate.example.com:4222");
      }
    }
    if (conn.upstream_tls_first && !conn.upstream_ssl_policy &&
        !rejected_.count(prefix + "upstream_ssl_policy")) {
      error(prefix + "upstream_tls_first", "needs TLS to the backend",
            "set " + prefix + "upstream_ssl_policy or remove " + prefix + "upstream_tls_first");
    }
  }

  // trust_all disables chain verification and pins alike (DESIGN.md,
  // tls::check_peer_certificate): pins set beside it would look like
  // protection and be none. So would an allow-list: a certificate nobody
  // verified can name any identity, and check_peer_certificate takes it.
  void check_pins_under_trust_all(const std::string& scope, const Policy& policy) {
    const std::string prefix = "ssl.policy." + scope + ".";
    if (!policy.pinned_certs.empty()) {
      error(prefix + "pinned_certs",
            "is not checked: " + prefix +
                "trust_all=true accepts any certificate a peer presents, without checking its "
                "chain or its pin",
            "remove " + prefix + "trust_all to have the pins checked (on top of chain " +
                "verification), or remove " + prefix + "pinned_certs");
    }
    if (!policy.allowed_identities.empty()) {
      error(prefix + "allowed_identities",
            "is not checked: " + prefix +
                "trust_all=true accepts any certificate a peer presents, and one nobody verified "
                "can name any identity",
            "remove " + prefix + "trust_all to have the identities checked, or remove " + prefix +
                "allowed_identities");
    }
  }

  void check_pkcs11(const std::string& scope, const Policy& policy) {
    const std::string prefix = "ssl.policy." + scope + ".";
    const bool on_token = is_pkcs11_uri(policy.private_key);
    if (on_token && policy.pkcs11_module.empty() && !rejected_.count(prefix + "pkcs11_module")) {
      error(prefix + "private_key", "is a pkcs11: URI but " + prefix + "pkcs11_module is not set",
            "set " + prefix + "pkcs11_module to the token's PKCS#11 module, e.g. " +
                "/usr/lib/softhsm/libsofthsm2.so");
    }
    // The value is shown in logs, `check` and the admin API: no PIN in it.
    const std::string& uri = policy.private_key.native();
    if (on_token && (uri.find("pin-value=") != std::string::npos ||
                     uri.find("pin-source=") != std::string::npos)) {
      error(prefix + "private_key", "holds the PIN (pin-value/pin-source) in its pkcs11: URI",
            "remove it from the URI and set " + prefix + "private_key_password to the PIN");
    }
    if (!on_token && !policy.pkcs11_module.empty()) {
      warning(prefix + "pkcs11_module", "is set but private_key is a file, not a pkcs11: URI",
              "remove it, or set " + prefix + "private_key=pkcs11:token=...;object=...");
    }
  }

  // ACME needs a way for the CA to reach this gate (a connector of the
  // policy for tls-alpn-01, a responder for http-01) and names to ask for.
  void check_acme(const std::string& scope, const Policy& p) {
    const std::string prefix = "ssl.policy." + scope + ".";
    if (!p.acme()) {
      for (const char* suffix :
           {"acme_email", "acme_names", "acme_challenge", "acme_http_address", "acme_key_type",
            "acme_ca_bundle", "acme_eab_kid", "acme_eab_hmac_file"}) {
        if (c_.origins.count(prefix + suffix) && !rejected_.count(prefix + "acme_directory")) {
          error(prefix + suffix, "has no effect without " + prefix + "acme_directory",
                "set " + prefix + "acme_directory to the ACME server's directory URL, or remove " +
                    prefix + suffix);
        }
      }
      return;
    }
    if (!p.acme_directory.starts_with("https://")) {
      error(prefix + "acme_directory", "\"" + p.acme_directory + "\" is not an https:// URL",
            "give the directory URL the CA publishes, e.g. "
            "https://acme-v02.api.letsencrypt.org/directory");
    }
    if (p.acme_challenge == AcmeChallenge::kHttp01 && !p.acme_http_address &&
        !rejected_.count(prefix + "acme_http_address")) {
      error(prefix + "acme_http_address", "is required by acme_challenge=http-01",
            "set " + prefix + "acme_http_address=:80 (the CA asks on port 80 of each name)");
    }
    if (p.acme_eab_kid.empty() != p.acme_eab_hmac_file.empty()) {
      const auto missing = p.acme_eab_kid.empty() ? "acme_eab_kid" : "acme_eab_hmac_file";
      error(prefix + missing, "is needed with the other External Account Binding key",
            "set both " + prefix + "acme_eab_kid and " + prefix +
                "acme_eab_hmac_file as the CA gave them, or neither");
    }
    for (const auto& name : p.acme_names) {
      if (name.starts_with("*.")) {
        error(prefix + "acme_names",
              "\"" + name +
                  "\" is a wildcard, which a CA validates only by dns-01, and the gate "
                  "answers tls-alpn-01 and http-01",
              "list the exact names, or obtain the wildcard certificate elsewhere");
      } else if (!acme_name(name)) {
        error(prefix + "acme_names", "\"" + name + "\" is neither a DNS name nor an IP address",
              "write each name as db.example.com, 192.0.2.10 or 2001:db8::10");
      }
    }
    if (acme_identifiers(c_, scope).empty() && !rejected_.count(prefix + "acme_names")) {
      error(prefix + "acme_names",
            "is empty, and no connector of this policy listens on a named host to take the "
            "names from",
            "list the DNS names (and IPs) the certificate is for: " + prefix +
                "acme_names=db.example.com");
    }
    if (p.acme_challenge != AcmeChallenge::kTlsAlpn01) return;
    bool answered = false;
    for (const auto& [name, conn] : c_.connectors) {
      if (conn.ssl_policy != scope || conn.tls_level == TlsLevel::kDisabled) continue;
      if (conn.protocol == Protocol::kMysql) {
        error(prefix + "acme_challenge",
              "is tls-alpn-01, but connector." + name +
                  " speaks protocol=mysql, whose server talks first, so the CA's TLS check "
                  "cannot reach the policy there",
              "set " + prefix + "acme_challenge=http-01 with acme_http_address");
      } else {
        answered = true;
      }
    }
    if (!answered && !rejected_.count(prefix + "acme_challenge")) {
      error(prefix + "acme_challenge",
            "is tls-alpn-01, which is answered on the ports of the connectors that use this "
            "policy, and none does",
            "use " + prefix + "acme_challenge=http-01 with acme_http_address");
    }
  }

  void check_cluster() {
    const auto& k = c_.cluster;
    bool any_https = false;
    for (const auto& e : k.etcd_endpoints) {
      if (e.starts_with("https://")) {
        any_https = true;
      } else if (e.starts_with("http://")) {
        if (!k.etcd_insecure) {
          error("cluster.etcd_endpoints",
                "\"" + e +
                    "\" is plaintext http://, which would show etcd every record and "
                    "this node's lease to anyone on the path",
                "use https:// with cluster.ssl_policy, or set cluster.etcd_insecure=true for a "
                "test setup");
        }
      } else {
        error("cluster.etcd_endpoints", "\"" + e + "\" is not an https:// URL",
              "write each endpoint as https://host:port");
      }
    }
    if (any_https || !k.etcd_insecure) {
      check_policy(k.ssl_policy, "cluster.ssl_policy", "set cluster.enabled=false");
    }
    if (k.etcd_endpoints.empty() && !rejected_.count("cluster.etcd_endpoints")) {
      error("cluster.etcd_endpoints", "is required",
            "set cluster.etcd_endpoints=https://host:2379");
    }
    if (k.members.empty() && !rejected_.count("cluster.members")) {
      error("cluster.members", "is required",
            "list every node's name, the same list on every node: cluster.members=a;b;c");
    } else if (std::find(k.members.begin(), k.members.end(), k.node_name) == k.members.end() &&
               !rejected_.count("cluster.members")) {
      error("cluster.node_name", "\"" + k.node_name + "\" is not one of cluster.members",
            "set cluster.node_name to this node's name in cluster.members, or add it there");
    }
    for (const auto& scope : k.scopes) {
      if (!c_.policies.count(scope)) {
        error("cluster.scopes", "names policy \"" + scope + "\", which is not configured",
              "configure ssl.policy." + scope + ".* or remove it from cluster.scopes");
      }
    }
    if (k.secret_file.empty() && !rejected_.count("cluster.secret_file")) {
      error("cluster.secret_file", "is required",
            "make one with: head -c 32 /dev/urandom > cluster.secret; chmod 600 cluster.secret; "
            "copy it to every node; set cluster.secret_file=cluster.secret");
    }
    if (k.lease_ttl < Seconds(2.0) && !rejected_.count("cluster.lease_ttl")) {
      error("cluster.lease_ttl", "is shorter than 2s, which etcd does not grant reliably",
            "set cluster.lease_ttl=2s or more (default 10s)");
    }
  }

  // The admin API decides what a caller may do by its client certificate,
  // so a caller without one must never get in.
  void check_admin() {
    const auto& a = c_.admin;
    check_policy(a.ssl_policy, "admin.ssl_policy", "set admin.enabled=false");
    auto it = c_.policies.find(a.ssl_policy);
    if (it != c_.policies.end() && it->second.client_auth != ClientAuth::kRequire &&
        !rejected_.count("admin.ssl_policy")) {
      const auto key = "ssl.policy." + a.ssl_policy + ".client_auth";
      if (!rejected_.count(key)) {
        error(key,
              "is " + to_string(it->second.client_auth) +
                  ", but the admin API (admin.ssl_policy) knows its callers only by their client "
                  "certificates",
              "set " + key + "=REQUIRE");
      }
    }
    if (a.allowed_identities.empty() && a.read_only_identities.empty()) {
      warning("admin.allowed_identities",
              "neither admin.allowed_identities nor admin.read_only_identities lists anyone, so "
              "every request to the admin API is refused",
              "list the identities of the operators' client certificates");
    }
    if (a.metrics_address && *a.metrics_address == a.listen_address) {
      error("admin.metrics_address", "is admin.listen_address too",
            "give the plaintext metrics listener its own port");
    }
    for (const auto& [name, conn] : c_.connectors) {
      for (const auto& [key, addr] :
           {std::pair<std::string, const HostPort*>{"admin.listen_address", &a.listen_address},
            {"admin.metrics_address", a.metrics_address ? &*a.metrics_address : nullptr}}) {
        if (addr && *addr == conn.listen_address &&
            c_.origins.count("connector." + name + ".listen_address")) {
          error(key, "connector." + name + " listens on the same address",
                "give the admin API its own port");
        }
      }
    }
  }

  // Two connectors on one address: the second would fail to bind at start.
  void check_listeners() {
    std::map<std::string, std::string> first;  // address -> connector
    for (const auto& [name, conn] : c_.connectors) {
      if (!c_.origins.count("connector." + name + ".listen_address")) continue;
      auto [it, fresh] = first.emplace(to_string(conn.listen_address), name);
      if (!fresh) {
        error("connector." + name + ".listen_address",
              "connector." + it->second + " listens on the same address",
              "give each connector its own address");
      }
    }
  }

  // KEY names POLICY, which must exist and be enabled; OR_ELSE is the other way out.
  void check_policy(const std::string& policy, const std::string& key, const std::string& or_else) {
    if (rejected_.count(key)) return;
    auto it = c_.policies.find(policy);
    if (it != c_.policies.end() && it->second.enabled) return;
    auto problem =
        "policy \"" + policy + "\" is not " + (it == c_.policies.end() ? "defined" : "enabled");
    error(key, problem, "add ssl.policy." + policy + ".enabled=true or " + or_else);
  }

  void error(const std::string& key, std::string problem, std::string fix) {
    out_.push_back(
        {Diagnostic::Severity::kError, c_.where(key), key, std::move(problem), std::move(fix)});
  }
  void warning(const std::string& key, std::string problem, std::string fix) {
    out_.push_back(
        {Diagnostic::Severity::kWarning, c_.where(key), key, std::move(problem), std::move(fix)});
  }

  const Config& c_;
  const std::set<std::string>& rejected_;
  std::vector<Diagnostic> out_;
};

}  // namespace

std::vector<Diagnostic> cross_check(const Config& config, const std::set<std::string>& rejected) {
  return Checker(config, rejected).run();
}

}  // namespace tlsgate::config::detail
