// The table itself. Patterns are listed in DESIGN.md's order so that
// `check --explain` and error suggestions read like the design.
#include "config/key_docs.h"

#include "config/enum_names.h"

namespace tlsgate::config {
namespace {

using detail::spellings;
using T = ValueType;

std::vector<KeyDoc> policy_docs() {
  const std::string p = "ssl.policy.<scope>.";
  return {
      {.pattern = p + "enabled",
       .type = T::kBool,
       .default_text = "false",
       .doc = "Whether this policy is in use; connectors and outgoing links can use only an "
              "enabled policy."},
      {.pattern = p + "base_directory",
       .type = T::kPath,
       .default_text = "certificates/<scope>, relative to the config file",
       .doc = "Folder of this policy's key, certificate, trusted/ and revoked/; a relative path "
              "starts at the "
              "config file's folder."},
      {.pattern = p + "private_key",
       .type = T::kPath,
       .default_text = "private.key",
       .doc = "PEM private key (PKCS#1, PKCS#8 or encrypted PKCS#8); a relative path starts at "
              "base_directory. Or a key on a PKCS#11 token, as an RFC 7512 URI "
              "(pkcs11:token=LABEL;object=LABEL): the key never leaves the token, which signs "
              "each full handshake; needs pkcs11_module, the PIN goes in private_key_password."},
      {.pattern = p + "private_key_password",
       .type = T::kSecret,
       .default_text = "none",
       .doc = "Passphrase of an encrypted private key, or the user PIN of the token for a "
              "pkcs11: private_key; $(command) is run only under --expand-commands. Never "
              "printed."},
      {.pattern = p + "pkcs11_module",
       .type = T::kPath,
       .default_text = "none",
       .doc = "Path of the PKCS#11 module (.so) that holds the token of a private_key given as a "
              "pkcs11: URI, e.g. /usr/lib/softhsm/libsofthsm2.so; a relative path starts at the "
              "config file's folder."},
      {.pattern = p + "public_certificate",
       .type = T::kPath,
       .default_text = "public.crt",
       .doc = "PEM certificate, leaf first and chain after; a relative path starts at "
              "base_directory."},
      {.pattern = p + "trusted_dir",
       .type = T::kPath,
       .default_text = "trusted",
       .doc = "Folder of PEM certificates (CA bundles allowed) trusted as issuers of peers; a "
              "relative path "
              "starts at base_directory."},
      {.pattern = p + "revoked_dir",
       .type = T::kPath,
       .default_text = "revoked",
       .doc = "Folder of CRLs (PEM or DER) checked for peers; a relative path starts at "
              "base_directory."},
      {.pattern = p + "client_auth",
       .type = T::kEnum,
       .default_text = "REQUIRE for cluster and backup, else OPTIONAL",
       .allowed = spellings<ClientAuth>(),
       .doc = "Whether clients present a certificate: NONE asks for none, OPTIONAL verifies one if "
              "sent, "
              "REQUIRE refuses a client without one."},
      {.pattern = p + "verify_hostname",
       .type = T::kBool,
       .default_text = "true",
       .doc = "Outgoing connections: check the peer certificate's SAN against the name dialled."},
      {.pattern = p + "tls_versions",
       .type = T::kList,
       .default_text = "TLSv1.2;TLSv1.3",
       .allowed = {"TLSv1.2", "TLSv1.3"},
       .doc = "TLS versions accepted, separated by ';' or ','.",
       .min = 1,
       .comma_ok = true},
      {.pattern = p + "ciphers",
       .type = T::kList,
       .default_text = "TLS 1.2 ECDHE with AES-GCM or ChaCha20-Poly1305, and every TLS 1.3 suite",
       .doc = "Cipher suites by IANA or OpenSSL name, TLS 1.2 and 1.3 mixed; each applies to its "
              "own version "
              "and the server's order wins.",
       .comma_ok = true},
      {.pattern = p + "groups",
       .type = T::kList,
       .default_text = "X25519;P-256;P-384",
       .doc = "Key-exchange groups, most preferred first.",
       .comma_ok = true},
      {.pattern = p + "handshake_timeout",
       .type = T::kDuration,
       .default_text = "10s",
       .doc = "Time a peer gets to finish the handshake, including the postgres or mysql "
              "negotiation before "
              "it."},
      {.pattern = p + "trust_all",
       .type = T::kBool,
       .default_text = "false",
       .doc = "Trust every peer without checking its chain or pins; for debugging only, and logged "
              "loudly."},
      {.pattern = p + "pinned_certs",
       .type = T::kList,
       .default_text = "none",
       .doc = "SHA-256 pins of the peer's public key (hex of the SubjectPublicKeyInfo DER, or "
              "sha256//base64); checked on top of chain verification.",
       .comma_ok = true},
      {.pattern = p + "allowed_identities",
       .type = T::kList,
       .default_text = "anyone the trusted CAs vouch for",
       .doc = "Identities let in, as mapped by identity_from, separated by ';' (subject DNs hold "
              "commas)."},
      {.pattern = p + "identity_from",
       .type = T::kEnum,
       .default_text = "subject",
       .allowed = spellings<IdentityFrom>(),
       .doc = "The part of a client certificate that becomes its identity."},
      {.pattern = p + "known_peers",
       .type = T::kList,
       .default_text = "none (any peer the chain check accepts)",
       .doc = "Cluster links: the peers accepted, by the names their certificates carry. When set, "
              "a client certificate (incoming) or a backend certificate (outgoing, "
              "upstream_ssl_policy, cluster.ssl_policy) must, on top of chain verification, carry "
              "a subjectAltName that matches an entry, else the handshake fails (reason "
              "unknown_peer). An entry is a DNS name, where a left-most '*' label matches exactly "
              "one label (RFC 6125; never '*' alone or part of a label), an IP address, or a URL "
              "(nats://node-b:6222) whose host is matched so and which a SAN URI equal to it "
              "matches. Case-insensitive; the subject CN is never used.",
       .comma_ok = true},
      {.pattern = p + "ocsp_stapling",
       .type = T::kBool,
       .default_text = "false",
       .doc = "Fetch, verify, cache (server.state_dir) and refresh OCSP responses for this "
              "policy's certificate, and staple them for clients that ask. The responder is "
              "ocsp_responder or the certificate's AIA; its issuer must be in the certificate "
              "file's chain or in trusted_dir."},
      {.pattern = p + "ocsp_responder",
       .type = T::kString,
       .default_text = "the certificate's AIA OCSP URL",
       .doc = "http:// URL of the OCSP responder asked for this policy's certificate and its "
              "peers', instead of the one the certificate names."},
      {.pattern = p + "revocation_checks",
       .type = T::kEnum,
       .default_text = "NONE",
       .allowed = spellings<RevocationChecks>(),
       .doc = "Peers, both directions, after the handshake and before a byte is forwarded: NONE "
              "(CRLs in revoked_dir only), IF_PRESENT (ask OCSP where the certificate names a "
              "responder or ocsp_responder is set; no answer lets the peer in with a warning), "
              "STRICT (a peer whose status cannot be established is refused)."},
      {.pattern = p + "stale_crl",
       .type = T::kEnum,
       .default_text = "WARN",
       .allowed = spellings<StaleCrl>(),
       .doc = "A CRL in revoked_dir past its nextUpdate: WARN logs it (when the policy is "
              "loaded or reloaded), keeps using it (the certificates it lists stay refused) and "
              "lets the other peers of that issuer in, counted; REJECT refuses peers whose "
              "chain that CRL covers, naming the CRL file and its nextUpdate, until a fresh CRL "
              "arrives (picked up without a restart)."},
      {.pattern = p + "revalidate_established",
       .type = T::kBool,
       .default_text = "true",
       .doc = "Check established connections again when trust material, allow-lists, pins or a "
              "peer's revocation status change, or its certificate expires; close those that "
              "would now be refused."},
      {.pattern = p + "implicit_trust_renewed",
       .type = T::kBool,
       .default_text = "true",
       .doc = "A peer trusted by its exact certificate (a leaf, often self-signed, in "
              "trusted_dir) is still trusted once it renews with the same public key and the "
              "same issuer; the log names the trusted certificate it renewed."},
      {.pattern = p + "acme_directory",
       .type = T::kString,
       .default_text = "none (ACME off)",
       .doc = "https:// URL of an ACME (RFC 8555) server's directory: the gate obtains this "
              "policy's certificate from it, writes it to public_certificate and private_key, and "
              "renews it by itself (docs/ACME.md). On a policy in cluster.scopes one node renews "
              "for the cluster (the holder of an etcd lock on its lease; another node takes over "
              "when it dies), every node answers the CA's challenges (published through etcd), "
              "and the pair reaches every node as a cluster replacement (docs/CLUSTER.md)."},
      {.pattern = p + "acme_email",
       .type = T::kString,
       .default_text = "none",
       .doc = "Contact address of the ACME account (the CA writes to it about expiry and "
              "incidents)."},
      {.pattern = p + "acme_names",
       .type = T::kList,
       .default_text = "the listen hosts of the connectors that use this policy",
       .doc = "DNS names and IP addresses the ACME certificate is for; the first is its "
              "subject."},
      {.pattern = p + "acme_challenge",
       .type = T::kEnum,
       .default_text = "tls-alpn-01",
       .allowed = spellings<AcmeChallenge>(),
       .doc = "How the CA checks control of the names: tls-alpn-01 is answered on the "
              "connectors' own ports (clients that do not ask for acme-tls/1 never see it); "
              "http-01 by a small HTTP responder on acme_http_address (port 80 as the CA sees "
              "it)."},
      {.pattern = p + "acme_http_address",
       .type = T::kAddress,
       .default_text = "none (required for http-01)",
       .doc = "Where the http-01 responder listens: host:port."},
      {.pattern = p + "acme_key_type",
       .type = T::kEnum,
       .default_text = "ecdsa-p256",
       .allowed = spellings<AcmeKeyType>(),
       .doc = "Key of the certificate: a fresh key is made for every issuance and renewal."},
      {.pattern = p + "acme_ca_bundle",
       .type = T::kPath,
       .default_text = "the system's trust store",
       .doc = "PEM certificates trusted for the ACME server's own HTTPS (a private ACME CA); a "
              "relative path starts at the config file's folder."},
      {.pattern = p + "acme_eab_kid",
       .type = T::kString,
       .default_text = "none",
       .doc = "External Account Binding key id, for CAs that require one (with "
              "acme_eab_hmac_file)."},
      {.pattern = p + "acme_eab_hmac_file",
       .type = T::kPath,
       .default_text = "none",
       .doc = "File holding the External Account Binding HMAC key as the CA gave it "
              "(base64url); a relative path starts at the config file's folder."},
  };
}

std::vector<KeyDoc> connector_docs() {
  const std::string c = "connector.<name>.";
  return {
      {.pattern = c + "listen_address",
       .type = T::kAddress,
       .default_text = "none (required)",
       .doc = "Where clients connect: host:port, [ipv6]:port, or :port for every interface."},
      {.pattern = c + "upstream_address",
       .type = T::kAddress,
       .default_text = "none (required)",
       .doc = "The backend: host:port or [ipv6]:port."},
      {.pattern = c + "protocol",
       .type = T::kEnum,
       .default_text = "tcp",
       .allowed = spellings<Protocol>(),
       .doc = "How clients start TLS: tcp with the handshake, postgres and mysql with the "
              "database's own negotiation, nats with the INFO upgrade or TLS first (both "
              "served on one port)."},
      {.pattern = c + "tls_level",
       .type = T::kEnum,
       .default_text = "REQUIRED",
       .allowed = spellings<TlsLevel>(),
       .doc = "DISABLED relays plaintext, OPTIONAL takes TLS or plaintext on one port, REQUIRED "
              "refuses "
              "plaintext."},
      {.pattern = c + "ssl_policy",
       .type = T::kString,
       .default_text = "the connector's name",
       .doc = "Policy for the client side."},
      {.pattern = c + "upstream_ssl_policy",
       .type = T::kString,
       .default_text = "none: plaintext to the backend",
       .doc = "Policy for a TLS connection to the backend."},
      {.pattern = c + "upstream_server_name",
       .type = T::kString,
       .default_text = "the host of upstream_address",
       .doc = "SNI sent to the backend and the name checked on its certificate."},
      {.pattern = c + "proxy_protocol",
       .type = T::kEnum,
       .default_text = "off",
       .allowed = spellings<ProxyProtocol>(),
       .doc =
           "v2 tells the backend the client's address and identity in a PROXY protocol v2 header."},
      {.pattern = c + "user_map",
       .type = T::kPath,
       .default_text = "none",
       .doc = "postgres, mysql and nats: file of IDENTITY DBUSER lines; a client logs in only as "
              "a user mapped from its certificate identity (nats: the user field of CONNECT). A "
              "relative path starts at the config file's folder."},
      {.pattern = c + "max_connections",
       .type = T::kCount,
       .default_text = "10000",
       .doc = "Concurrent client connections; a connection above it is closed at once and counted.",
       .min = 1},
      {.pattern = c + "advertise",
       .type = T::kList,
       .default_text = "none: connect_urls are dropped",
       .doc = "nats: host:port items (';'-separated) written into connect_urls of the INFO "
              "lines clients see (host and port: the first item), so they never learn the "
              "backends' addresses; none drops connect_urls. ws_connect_urls and ip are always "
              "dropped (the gate serves no websocket port)."},
      {.pattern = c + "nats_tls_first_window",
       .type = T::kDuration,
       .default_text = "50ms",
       .doc = "nats: how long the gate waits for a ClientHello (a TLS-first client) before it "
              "sends INFO first (nats-server's handshake_first auto mode)."},
      {.pattern = c + "upstream_tls_first",
       .type = T::kBool,
       .default_text = "false",
       .doc = "nats: start TLS toward the backend at once (nats-server handshake_first) instead "
              "of after its INFO; needs upstream_ssl_policy."},
  };
}

std::vector<KeyDoc> global_docs() {
  return {
      {.pattern = "server.worker_threads",
       .type = T::kCount,
       .default_text = "0 (one per CPU core)",
       .doc = "Event-loop threads; 0 starts one per CPU core.",
       .max = 1024},
      {.pattern = "server.shutdown_timeout",
       .type = T::kDuration,
       .default_text = "30s",
       .doc = "How long a shutdown waits for open connections to finish."},
      {.pattern = "server.reload_settle",
       .type = T::kDuration,
       .default_text = "200ms",
       .doc = "Quiet time after the last change to a policy's files before it is reloaded.",
       .zero_allowed = true},
      {.pattern = "server.ticket_key_rotation",
       .type = T::kDuration,
       .default_text = "1h",
       .doc = "Lifetime of a session ticket key; resumption survives a rotation."},
      {.pattern = "server.idle_timeout",
       .type = T::kDuration,
       .default_text = "0 (off)",
       .doc = "Close a connection that carried no data for this long; 0 turns it off.",
       .zero_allowed = true},
      {.pattern = "server.log_level",
       .type = T::kEnum,
       .default_text = "info",
       .allowed = spellings<LogLevel>(),
       .doc = "The least severe messages written to stderr."},
      {.pattern = "server.log_format",
       .type = T::kEnum,
       .default_text = "text",
       .allowed = spellings<LogFormat>(),
       .doc = "Format of log lines on stderr."},
      {.pattern = "server.state_dir",
       .type = T::kPath,
       .default_text = "state/ beside the config file",
       .doc = "Folder for what tlsgate keeps across restarts: cached OCSP responses, ACME "
              "accounts. Created on first use, mode 0700."},
      {.pattern = "admin.enabled",
       .type = T::kBool,
       .default_text = "false",
       .doc = "Serve the HTTPS admin API (/v1/...), Prometheus metrics (/metrics) and the "
              "dashboard (/) on admin.listen_address; callers prove who they are with a client "
              "certificate (docs/ADMIN.md)."},
      {.pattern = "admin.listen_address",
       .type = T::kAddress,
       .default_text = "127.0.0.1:9443",
       .doc = "Where the admin API listens (HTTPS). Keep it on loopback or a management "
              "network."},
      {.pattern = "admin.ssl_policy",
       .type = T::kString,
       .default_text = "admin",
       .doc = "Policy of the admin listener: its certificate, and the CAs in its trusted_dir "
              "vouch for the callers' client certificates. Its client_auth must be REQUIRE; it "
              "reloads like every other policy."},
      {.pattern = "admin.allowed_identities",
       .type = T::kList,
       .default_text = "none",
       .doc = "Identities (as the admin policy's identity_from maps a client certificate) that "
              "may read and change: GET, POST /v1/reload, PUT certificates, DELETE connections. "
              "Separated by ';' (subject DNs hold commas). Anyone else gets 403."},
      {.pattern = "admin.read_only_identities",
       .type = T::kList,
       .default_text = "none",
       .doc = "Identities that may only read (GET: status, certificates, connections, metrics, "
              "the dashboard); anything else they send is 403. Separated by ';'."},
      {.pattern = "admin.metrics_address",
       .type = T::kAddress,
       .default_text = "none (metrics only on admin.listen_address)",
       .doc = "A second, plaintext listener (host:port) that serves only GET /metrics and GET "
              "/healthz, for a Prometheus on the same host. No identity is checked there: bind "
              "it to loopback."},
      {.pattern = "cluster.enabled",
       .type = T::kBool,
       .default_text = "false",
       .doc = "Coordinate certificate replacement with the other nodes through etcd "
              "(docs/CLUSTER.md)."},
      {.pattern = "cluster.name",
       .type = T::kString,
       .default_text = "tlsgate",
       .doc = "The cluster's name; its records live under key_prefix/name/ in etcd."},
      {.pattern = "cluster.node_name",
       .type = T::kString,
       .default_text = "the host name",
       .doc = "This node's name in the cluster; it must be one of cluster.members."},
      {.pattern = "cluster.members",
       .type = T::kList,
       .default_text = "none (required when enabled)",
       .doc = "Every node's name, separated by ';', the same on every node. A replacement "
              "commits when all of them have staged it; a node that is down counts as one that "
              "has not."},
      {.pattern = "cluster.etcd_endpoints",
       .type = T::kList,
       .default_text = "none (required when enabled)",
       .doc = "etcd endpoints as https://host:port, separated by ';' or ','; tried in order.",
       .comma_ok = true},
      {.pattern = "cluster.ssl_policy",
       .type = T::kString,
       .default_text = "cluster",
       .doc = "Policy for mutual TLS to etcd: its key and certificate are this node's client "
              "certificate, its trusted_dir verifies etcd's."},
      {.pattern = "cluster.etcd_insecure",
       .type = T::kBool,
       .default_text = "false",
       .doc = "Allow http:// etcd endpoints, with no TLS and no policy (logged loudly). For "
              "tests only: certificates' private keys cross etcd sealed either way."},
      {.pattern = "cluster.key_prefix",
       .type = T::kString,
       .default_text = "/tlsgate",
       .doc = "etcd key prefix under which tlsgate keeps its records."},
      {.pattern = "cluster.scopes",
       .type = T::kList,
       .default_text = "cluster",
       .doc = "Policies whose certificate is cluster-wide and replaced through etcd, separated "
              "by ';'."},
      {.pattern = "cluster.secret_file",
       .type = T::kPath,
       .default_text = "none (required when enabled)",
       .doc = "File of 32 random bytes (head -c 32 /dev/urandom), mode 0600, the same on every "
              "node: private keys cross etcd only sealed with it (AES-256-GCM)."},
      {.pattern = "cluster.switch_before_expiry",
       .type = T::kDuration,
       .default_text = "3d",
       .doc = "A replacement commits without the nodes that have not staged it once the scope's "
              "current certificate has this long or less left."},
      {.pattern = "cluster.lease_ttl",
       .type = T::kDuration,
       .default_text = "10s",
       .doc = "TTL of each node's etcd lease (kept alive every third of it): how long after a "
              "node dies it stops counting as up, and another node takes over the ACME renewal "
              "of a cluster-wide ACME policy (docs/CLUSTER.md). At least 2s."},
  };
}

}  // namespace

const std::vector<KeyDoc>& key_docs() {
  static const std::vector<KeyDoc> docs = [] {
    std::vector<KeyDoc> all = policy_docs();
    for (auto& d : connector_docs()) all.push_back(std::move(d));
    for (auto& d : global_docs()) all.push_back(std::move(d));
    return all;
  }();
  return docs;
}

std::string to_string(ValueType t) {
  switch (t) {
    case ValueType::kBool:
      return "boolean";
    case ValueType::kString:
      return "string";
    case ValueType::kPath:
      return "path";
    case ValueType::kSecret:
      return "secret";
    case ValueType::kEnum:
      return "enum";
    case ValueType::kList:
      return "list";
    case ValueType::kDuration:
      return "duration";
    case ValueType::kCount:
      return "count";
    case ValueType::kAddress:
      return "address";
  }
  return "?";
}

}  // namespace tlsgate::config
