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
// Each worker thread's own, whatever its load: its event loop's epoll,
// eventfd and timerfd and the spare descriptor for EMFILE (gate.cc); plus
// one listener per connector (kFdsPerWorker + connectors in all).
inline constexpr uint64_t kFdsPerWorker = 4;
// The process's own besides the workers: stdin, stdout, stderr, the control
// loop's epoll, eventfd and timerfd, the signal pipe, the file watcher's
// inotify and eventfd (12 at start with the log on stderr) and room for log
// files.
inline constexpr uint64_t kFdProcessBase = 16;

// The descriptor table's slots the gate reserves at start, at most
// (util::reserve_fd_slots): 512 KiB of kernel memory. Beyond it the table
// grows with the load.
inline constexpr uint64_t kFdTableSlotsAtStart = uint64_t{1} << 16;

// The worker threads the gate runs: server.worker_threads, or one per core for 0.
unsigned worker_count(const config::Server& server);

// Descriptors the gate holds besides its connections: kFdProcessBase,
// kFdsPerWorker plus one listener per connector on each worker, and
// FdBudget::kReserve for what comes and goes.
uint64_t fd_headroom(size_t connectors, unsigned workers);

// How many descriptors the connectors' max_connections may need, with the headroom.
uint64_t fds_needed(const config::Config& config);

// "" when the connectors' max_connections fit under `limit` (RLIMIT_NOFILE;
// util::kNoFdLimit for none), else a warning with the numbers: which
// connectors, how many descriptors, the limit, and what to raise or lower.
// `tlsgate check` and the gate at start both say it with this function.
std::string fd_shortfall(const config::Config& config, uint64_t limit);

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
// it, naming `limit` (rate-limited: ConnectorRuntime::no_descriptors_log).
void note_fd_refusal(ConnectorRuntime& connector, uint64_t limit);

}  // namespace tlsgate::net
