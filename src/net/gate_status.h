// What the gate knows about itself, copied out for the admin layer (the
// HTTPS API, the Prometheus metrics, the dashboard: issue 14).
//
// Every struct here is a plain value taken at the moment of the call: the
// admin layer turns it into JSON or metric families without touching a
// worker, a lock of the data path or an OpenSSL object that may change.
// Contexts are shared as shared_ptr<const tls::Context>: immutable once
// published, so reading one on another thread is safe.
//
// Counting (net/worker_counters.h) costs the data path no lock and no
// shared atomic per byte: each worker owns its counters and only it writes
// them; Gate::status() folds them when asked.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "net/ocsp_engine.h"
#include "tls/context.h"
#include "tls/context_registry.h"
#include "tls/failure_reason.h"
#include "util/clock.h"

namespace tlsgate::net {

struct ConnectorStatus {
  std::string name;
  std::string listen_address, upstream_address;  // "host:port"
  std::string protocol, tls_level;               // config::to_string() words
  std::string ssl_policy;                        // "" when tls_level=DISABLED
  std::string upstream_ssl_policy;               // "" when plaintext to the backend
  uint64_t accepted = 0;
  uint64_t active = 0;
  // Refused before a session began, by reason: "max_connections",
  // "no_descriptors", "tls_setup" (every reason present, zeros included).
  std::map<std::string, uint64_t> refused;
  // Completed client handshakes by (TLS version as OpenSSL names it,
  // "TLSv1.3"; resumed). Only pairs seen are present.
  std::map<std::pair<std::string, bool>, uint64_t> handshakes;
  // By tls::reason_name(), every reason present (zeros included).
  std::map<std::string, uint64_t> handshake_failures;  // the client side
  std::map<std::string, uint64_t> upstream_failures;   // the backend side
  uint64_t bytes_from_clients = 0;  // read from clients (forwarded to the backend)
  uint64_t bytes_to_clients = 0;    // written to clients
  // Established connections closed by re-validation, by reason: "revoked",
  // "expired", "policy_changed", "user_map_changed".
  std::map<std::string, uint64_t> revalidation_closed;
  uint64_t revocation_soft_fails = 0;  // IF_PRESENT: let in without a status
};

// One (policy, side) in use, with the context it serves now.
struct PolicyStatus {
  std::string scope;
  tls::Side side = tls::Side::kServer;
  std::shared_ptr<const tls::Context> context;  // certificate, crls, trusted, pins
  tls::PolicyState state;                       // reload counts, last error, loaded_at
  std::vector<std::string> connectors;          // the connectors that use it on this side
};

// One publication attempt of a policy's context (a file change, SIGHUP, the API).
struct ReloadEvent {
  util::SystemTime at{};
  std::string scope;
  tls::Side side = tls::Side::kServer;
  bool ok = false;
  bool changed = false;  // a new context was published
  std::string old_serial, new_serial;
  std::string error;  // when !ok, in words (names key and file)
};

// Handshake failures (client side, all connectors) in one minute.
struct FailureMinute {
  util::SystemTime start{};
  std::map<std::string, uint64_t> by_reason;  // only reasons seen
};

// A connector's user_map as the last load of it left it.
struct UserMapStatus {
  std::string connector;
  std::string file;      // the map's path
  bool ok = true;        // it parsed; when not, the map loaded before stays in force
  bool changed = false;  // in a reload: a new map was published
  std::string error;     // when !ok: FILE:LINE: what is wrong; what to do
};

struct GateStatus {
  std::string version;
  std::string config_file;
  util::SystemTime started_at{};
  unsigned workers = 0;
  // The last configuration reload (SIGHUP, the API): nullopt before any.
  std::optional<util::SystemTime> last_config_reload;
  std::string last_config_reload_error;                  // "" when it succeeded
  std::vector<std::string> last_config_reload_warnings;  // ReloadOutcome::warnings
  std::vector<UserMapStatus> user_maps;                  // every connector with a user_map
  std::vector<ConnectorStatus> connectors;
  std::vector<PolicyStatus> policies;
  std::vector<StapleState> staples;
  uint64_t ocsp_fetches = 0, ocsp_fetch_failures = 0, ocsp_own_revoked = 0;
  std::vector<ReloadEvent> reloads;     // the latest 100, oldest first
  std::vector<FailureMinute> failures;  // the last 60 minutes, oldest first, this one last
};

// The policy `scope` as a replacement of its certificate must treat it: its
// server side when a connector serves clients with it, else whichever side
// is in use; null when no connector or listener uses it.
const PolicyStatus* policy_in_use(const GateStatus& status, const std::string& scope);

// One established connection (GET /v1/connections).
struct ConnectionInfo {
  uint64_t id = 0;  // unique in this process, never reused
  std::string connector;
  std::string client;               // "ip:port"
  std::string identity;             // mapped identity of the client certificate; "" if none
  std::string tls_version, cipher;  // "" for a plaintext client
  bool resumed = false;
  util::SystemTime since{};
  uint64_t bytes_from_client = 0, bytes_to_client = 0;
};

// What a reload requested through the gate did.
struct ReloadOutcome {
  bool config_ok = true;                   // the config file read and validated
  std::vector<std::string> config_errors;  // when not: FILE:LINE: KEY: ... lines
  std::vector<tls::ReloadReport> reports;  // one per (policy, side) rebuilt
  // What the reload did not apply: each restart-only key that changed
  // (net/restart_only.h), "FILE:LINE: KEY changed; it takes effect only
  // after a restart (...)". The reload is still ok: the rest was applied.
  std::vector<std::string> warnings;
  std::vector<UserMapStatus> user_maps;  // config reloads: every connector's map
};

}  // namespace tlsgate::net
