// Typed settings: the plain data a tlsgate.conf turns into (STYLE.md practice 1).
//
// Every struct here is copyable, compares with ==, and holds defaults exactly
// as DESIGN.md lists them. Paths are absolute: relative ones in the file are
// resolved against the config file's folder (and a policy's files against its
// base_directory). Building OpenSSL objects from these is the tls layer's job.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"
#include "util/secret.h"

namespace tlsgate::config {

using Seconds = std::chrono::duration<double>;

enum class ClientAuth { kNone, kOptional, kRequire };
enum class TlsLevel { kDisabled, kOptional, kRequired };
enum class Protocol { kTcp, kPostgres, kMysql, kNats };
enum class IdentityFrom { kSubject, kCn, kSanEmail, kSanDns, kSanUri };
enum class RevocationChecks { kNone, kIfPresent, kStrict };
enum class StaleCrl { kWarn, kReject };
enum class ProxyProtocol { kOff, kV2 };
enum class LogLevel { kError, kWarn, kInfo, kDebug };
enum class LogFormat { kText, kJson };
enum class AcmeChallenge { kTlsAlpn01, kHttp01 };
enum class AcmeKeyType { kEcdsaP256, kRsa2048 };

// The spelling used in config files and messages ("REQUIRE", "san_email", ...).
std::string to_string(ClientAuth v);
std::string to_string(TlsLevel v);
std::string to_string(Protocol v);
std::string to_string(IdentityFrom v);
std::string to_string(RevocationChecks v);
std::string to_string(StaleCrl v);
std::string to_string(ProxyProtocol v);
std::string to_string(LogLevel v);
std::string to_string(LogFormat v);
std::string to_string(AcmeChallenge v);
std::string to_string(AcmeKeyType v);

struct HostPort {
  std::string host;  // name or IP literal, without brackets; "" or "0.0.0.0" = any
  uint16_t port = 0;
  bool operator==(const HostPort&) const = default;
};
std::string to_string(const HostPort& hp);  // "host:port", "[::1]:port"
// A listen host that means every address ("", 0.0.0.0, ::, *): no name to check.
bool is_any_address(std::string_view host);

// private_key is an RFC 7512 "pkcs11:" URI naming a key on a token (pki/pkcs11.h).
bool is_pkcs11_uri(const std::filesystem::path& private_key);

struct Policy {
  std::string scope;                                 // the <scope> in ssl.policy.<scope>.*
  bool enabled = false;                              // use this policy
  std::filesystem::path base_directory;              // default <config dir>/certificates/<scope>
  std::filesystem::path private_key;                 // default base/private.key
  std::optional<util::Secret> private_key_password;  // passphrase or "$(command)" (tls expands)
  std::filesystem::path pkcs11_module;               // PKCS#11 module for a pkcs11: private_key
  std::filesystem::path public_certificate;          // default base/public.crt
  std::filesystem::path trusted_dir;                 // default base/trusted
  std::filesystem::path revoked_dir;                 // default base/revoked
  ClientAuth client_auth = ClientAuth::kOptional;    // REQUIRE for cluster/backup scopes
  bool verify_hostname = true;  // outgoing: check peer SAN against dialled name
  std::vector<std::string> tls_versions{"TLSv1.2", "TLSv1.3"};
  std::vector<std::string> ciphers;  // empty = secure defaults (DESIGN.md)
  std::vector<std::string> groups{"X25519", "P-256", "P-384"};
  Seconds handshake_timeout{10.0};              // also covers postgres/mysql pre-TLS negotiation
  bool trust_all = false;                       // debugging only; logged loudly
  std::vector<std::string> pinned_certs;        // as written; parsed by pki::parse_pin
  std::vector<std::string> allowed_identities;  // empty = anyone the CA trusts
  IdentityFrom identity_from = IdentityFrom::kSubject;
  std::vector<std::string> known_peers;  // SAN DNS names / URLs, RFC 6125 wildcards
  bool ocsp_stapling = false;
  std::string ocsp_responder;  // http:// URL overriding the certificate's AIA; "" = AIA
  RevocationChecks revocation_checks = RevocationChecks::kNone;
  StaleCrl stale_crl = StaleCrl::kWarn;
  bool revalidate_established = true;
  bool implicit_trust_renewed = true;
  // ACME (docs/ACME.md): a non-empty acme_directory turns issuance and
  // renewal on; the certificate and key are written to public_certificate
  // and private_key.
  std::string acme_directory;           // https:// URL of the ACME server's directory
  std::string acme_email;               // account contact; "" = none
  std::vector<std::string> acme_names;  // DNS names and IPs; empty: its connectors' listen hosts
  AcmeChallenge acme_challenge = AcmeChallenge::kTlsAlpn01;
  std::optional<HostPort> acme_http_address;  // http-01: where the responder listens
  AcmeKeyType acme_key_type = AcmeKeyType::kEcdsaP256;
  std::filesystem::path acme_ca_bundle;      // trust for the ACME server; "" = the system's
  std::string acme_eab_kid;                  // External Account Binding key id
  std::filesystem::path acme_eab_hmac_file;  // its HMAC key, base64url, in a file
  bool acme() const { return !acme_directory.empty(); }
  bool operator==(const Policy&) const = default;
};

struct Connector {
  std::string name;           // the <name> in connector.<name>.*
  HostPort listen_address;    // required
  HostPort upstream_address;  // required
  Protocol protocol = Protocol::kTcp;
  TlsLevel tls_level = TlsLevel::kRequired;
  std::string ssl_policy;                          // default: the connector's name
  std::optional<std::string> upstream_ssl_policy;  // absent: plaintext to the backend
  std::string upstream_server_name;                // default: host of upstream_address
  ProxyProtocol proxy_protocol = ProxyProtocol::kOff;
  std::optional<std::filesystem::path> user_map;  // postgres/mysql/nats only
  uint32_t max_connections = 10000;
  std::vector<std::string> advertise;   // nats: host:port items for connect_urls; empty: dropped
  Seconds nats_tls_first_window{0.05};  // nats: how long a ClientHello may take to come first
  bool upstream_tls_first = false;      // nats: TLS to the backend before its INFO
  bool operator==(const Connector&) const = default;
};

struct Server {
  unsigned worker_threads = 0;  // 0 = number of cores
  Seconds shutdown_timeout{30.0};
  Seconds reload_settle{0.2};
  Seconds ticket_key_rotation{3600.0};  // session ticket key lifetime
  Seconds idle_timeout{0.0};            // 0 = no idle timeout
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kText;
  std::filesystem::path state_dir;  // default <config dir>/state: OCSP responses, ACME accounts
  bool operator==(const Server&) const = default;
};

struct Admin {
  bool enabled = false;                           // serve the HTTPS admin API (docs/ADMIN.md)
  HostPort listen_address{"127.0.0.1", 9443};     // where the admin API listens
  std::string ssl_policy = "admin";               // its policy; client_auth must be REQUIRE
  std::vector<std::string> allowed_identities;    // may read and change (GET, POST, PUT, DELETE)
  std::vector<std::string> read_only_identities;  // may only read (GET)
  std::optional<HostPort> metrics_address;        // plaintext /metrics and /healthz; absent: none
  bool operator==(const Admin&) const = default;
};

// Certificate replacement coordinated through etcd (docs/CLUSTER.md).
struct Cluster {
  bool enabled = false;
  std::string name = "tlsgate";             // records live under key_prefix/name/
  std::string node_name;                    // default: host name
  std::vector<std::string> members;         // every node's name, the same on every node
  std::vector<std::string> etcd_endpoints;  // https://host:port (http:// only with etcd_insecure)
  std::string ssl_policy = "cluster";       // the mTLS link to etcd
  bool etcd_insecure = false;               // allow http:// endpoints (no policy then)
  std::string key_prefix = "/tlsgate";
  std::vector<std::string> scopes{"cluster"};  // policies whose certificate is cluster-wide
  std::filesystem::path secret_file;           // 32 random bytes; seals keys in etcd
  Seconds switch_before_expiry{3.0 * 86400};   // commit without the missing nodes then
  Seconds lease_ttl{10.0};  // a node's etcd lease: alive/<node>, the ACME renewal lock
  bool operator==(const Cluster&) const = default;
};

struct Config {
  std::filesystem::path file;              // absolute path of the config file ("" if none)
  std::string source;                      // the config file as the caller named it, for messages
  std::map<std::string, Policy> policies;  // by scope; every scope named in the file
  std::map<std::string, Connector> connectors;  // by name
  Server server;
  Admin admin;
  Cluster cluster;
  // Where each key that was set came from (canonical key, after alias
  // mapping); keys left at their default are absent.
  std::map<std::string, Location> origins;
  bool operator==(const Config&) const = default;

  // The origin of KEY, or {source, 0} when it was defaulted ({file, 0} if
  // source is empty).
  Location where(const std::string& key) const;
};

// The names an ACME certificate of policy SCOPE is for: acme_names, else the
// listen hosts of the connectors whose ssl_policy it is (wildcard addresses
// left out), in connector order without repeats.
std::vector<std::string> acme_identifiers(const Config& config, const std::string& scope);

}  // namespace tlsgate::config
