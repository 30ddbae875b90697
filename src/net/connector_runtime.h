// ConnectorRuntime: what every worker shares about one connector — its
// settings, the current contexts of its policies and its counters.
//
// Contexts are read with Versioned::get() at accept time; a session keeps
// the snapshot it took. Counters are atomics written from any worker.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "config/settings.h"
#include "config/user_map.h"
#include "tls/context.h"
#include "util/rate_limiter.h"
#include "util/versioned.h"

namespace tlsgate::net {

class OcspEngine;

struct ConnectorStats {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> refused_over_limit{0};
  std::atomic<uint64_t> refused_no_descriptors{0};  // RLIMIT_NOFILE would be exceeded
  std::atomic<uint64_t> handshake_failures{0};
  std::atomic<uint64_t> upstream_failures{0};
  std::atomic<uint64_t> plaintext_refused{0};
  std::atomic<uint64_t> users_refused{0};               // user_map said no
  std::atomic<uint64_t> tls_setup_failures{0};          // no memory for a TLS session or its BIO
  std::atomic<uint64_t> peers_revoked{0};               // refused: OCSP says revoked
  std::atomic<uint64_t> revocation_unknown_refused{0};  // STRICT: no status could be had
  std::atomic<uint64_t> revocation_soft_fails{0};       // IF_PRESENT: let in without a status
  // Established, then refused by a re-check (revalidate_established).
  std::atomic<uint64_t> revalidation_closed{0};
  std::atomic<uint32_t> active{0};
};

struct ConnectorRuntime {
  config::Connector settings;
  size_t index = 0;  // in the gate's list: its ConnectorCounters in each worker
  std::shared_ptr<util::Versioned<tls::Context>> client_side;    // null when tls_level=DISABLED
  std::shared_ptr<util::Versioned<tls::Context>> upstream_side;  // null: plaintext to the backend
  std::shared_ptr<util::Versioned<config::UserMap>> user_map;    // null: no user_map
  // Without a client-side policy (tls_level=DISABLED); else each session
  // takes its policy's handshake_timeout from the context it starts with,
  // so a reload changes it for new connections.
  config::Seconds handshake_timeout{10.0};
  config::Seconds idle_timeout{0.0};
  // Every listener of the connector passes TCP_NODELAY, TCP_INQ and the
  // unsent limit on to the sockets it accepts (Stream::prepare_listener).
  bool listener_prepared = false;
  ConnectorStats stats;
  OcspEngine* ocsp = nullptr;  // the gate's, when a policy uses OCSP; outlives the sessions
  // Per-connection failure lines (handshakes, backends, refusals): a storm of
  // bad clients must not grow the log without bound. Every failure is still
  // counted in stats; the next line that passes says how many were held back.
  util::RateLimiter failure_log{20, std::chrono::seconds(1)};
  // Refusals at accept, for max_connections and for descriptors: at most
  // one line per reason each 10 s, each with the count so far (so a line
  // held back is never a refusal lost from the log's story).
  util::RateLimiter over_limit_log{1, std::chrono::seconds(10)};
  util::RateLimiter no_descriptors_log{1, std::chrono::seconds(10)};
};

// The config key of a connector's user_map, which also names its watch.
inline std::string user_map_key(const std::string& connector) {
  return "connector." + connector + ".user_map";
}

}  // namespace tlsgate::net
