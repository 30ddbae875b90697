#include "net/fd_budget.h"

#include <algorithm>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "util/fd_limit.h"
#include "util/strings.h"

namespace tlsgate::net {

unsigned worker_count(const config::Server& server) {
  if (server.worker_threads != 0) return server.worker_threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

uint64_t fd_headroom(size_t connectors, unsigned workers) {
  return kFdProcessBase + FdBudget::kReserve + uint64_t{workers} * (kFdsPerWorker + connectors);
}

uint64_t fds_needed(const config::Config& config) {
  uint64_t connections = 0;
  for (const auto& [name, c] : config.connectors) connections += c.max_connections;
  return kFdsPerConnection * connections +
         fd_headroom(config.connectors.size(), worker_count(config.server));
}

std::string fd_shortfall(const config::Config& config, uint64_t limit) {
  uint64_t needed = fds_needed(config);
  if (limit == util::kNoFdLimit || needed <= limit) return "";
  std::vector<std::string> settings;
  std::vector<std::string> keys;
  for (const auto& [name, c] : config.connectors) {
    keys.push_back("connector." + name + ".max_connections");
    settings.push_back(fmt::format("{}={}", keys.back(), c.max_connections));
  }
  unsigned workers = worker_count(config.server);
  size_t listeners = config.connectors.size();
  return fmt::format(
      "file descriptors: {} may need {} ({} per connection, and {} for the gate itself: {} on "
      "each of its {} worker thread(s) (server.worker_threads) and {} more), but the limit "
      "(RLIMIT_NOFILE) is {}; clients beyond it are refused. Raise LimitNOFILE (systemd) / "
      "ulimit -n to {} or lower {}",
      util::join(settings, " and "), needed, kFdsPerConnection, fd_headroom(listeners, workers),
      kFdsPerWorker + listeners, workers, kFdProcessBase + FdBudget::kReserve, limit, needed,
      util::join(keys, " or "));
}

FdBudget::FdBudget(uint64_t limit, uint64_t open) : limit_(limit) {
  if (limit == util::kNoFdLimit) return;
  uint64_t used = open + kReserve;
  max_sessions_ = limit > used ? (limit - used) / kFdsPerConnection : 0;
}

void note_fd_refusal(ConnectorRuntime& c, uint64_t limit) {
  auto refused = c.stats.refused_no_descriptors.fetch_add(1, std::memory_order_relaxed) + 1;
  if (!c.no_descriptors_log.admit()) return;
  spdlog::warn(
      "connector {}: {} connection(s) refused so far: out of file descriptors (limit {}, "
      "RLIMIT_NOFILE); raise LimitNOFILE (systemd) / ulimit -n or lower "
      "connector.{}.max_connections",
      c.settings.name, refused, limit, c.settings.name);
}

}  // namespace tlsgate::net
