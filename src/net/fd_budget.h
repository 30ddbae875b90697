// File descriptors for connections: what the connectors' max_connections may
// need against the process's limit (RLIMIT_NOFILE) — checked when the gate
// starts and by `tlsgate check` — and, while the gate runs, whether one more
// connection fits.
//
// A proxied connection holds two descriptors: the client's socket and the
// backend's. Admission counts open sessions against the descriptors left
// after start-up, so a client is refused at accept, before its TLS
// handshake, rather than after it when the backend socket cannot be opened.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "config/settings.h"
#include "net/connector_runtime.h"

namespace tlsgate::net {

inline constexpr uint64_t kFdsPerConnection = 2;
// The rest of the gate: listeners, event loops, the file watcher, logs, reloads.
inline constexpr uint64_t kFdHeadroom = 64;

// How many descriptors the connectors' max_connections may need.
uint64_t fds_needed(const std::map<std::string, config::Connector>& connectors);

// "" when the connectors' max_connections fit under `limit` (RLIMIT_NOFILE;
// util::kNoFdLimit for none), else a warning with the numbers: which
// connectors, how many descriptors, the limit, and what to raise or lower.
std::string fd_shortfall(const std::map<std::string, config::Connector>& connectors,
                         uint64_t limit);

// Admission by descriptors while the gate serves. Immutable; any thread.
class FdBudget {
 public:
  // Kept spare for what comes and goes besides connections (a reload's
  // files, a resolver's socket, a replaced watcher).
  static constexpr uint64_t kReserve = 16;

  FdBudget() = default;  // no limit
  // `limit`: RLIMIT_NOFILE; `open`: descriptors open before the first connection.
  FdBudget(uint64_t limit, uint64_t open);

  // Whether one more connection's descriptors fit while `sessions` are open.
  bool admits(uint64_t sessions) const { return sessions < max_sessions_; }
  uint64_t max_sessions() const { return max_sessions_; }
  uint64_t limit() const { return limit_; }

 private:
  uint64_t limit_ = UINT64_MAX;
  uint64_t max_sessions_ = UINT64_MAX;
};

// Counts a client refused for want of descriptors on its connector and logs
// it (rate-limited: the 1st, 2nd, 4th, 8th, ... time), naming `limit`.
void note_fd_refusal(ConnectorRuntime& connector, uint64_t limit);

}  // namespace tlsgate::net
