// The Prometheus text exposition of a GateStatus (GET /metrics).
//
// Built at scrape time from the folded counters (net/gate_status.h): the
// data path counts in per-worker counters and never touches prometheus-cpp.
// prometheus-cpp's core supplies the MetricFamily structs and the
// TextSerializer (format 0.0.4). Names, types and labels are those of
// docs/ADMIN.md; failure reasons are tls::reason_name()'s words.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "acme/manager.h"
#include "cluster/node.h"
#include "net/gate_status.h"
#include "tls/failure_reason.h"

namespace tlsgate::admin {

inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// What the admin listener itself refused: clients that failed its TLS
// handshake or its peer checks, by reason (it runs on the control loop,
// which counts and reads them).
struct AdminListenerCounts {
  std::array<uint64_t, tls::kFailureReasonCount> handshake_failures{};
};

// `cluster`: this node's view of the cluster (cluster.enabled), or null;
// `acme`: the ACME manager's policies, or null; `admin`: the admin
// listener's counts, or null.
std::string metrics_text(const net::GateStatus& status,
                         const cluster::ClusterStatus* cluster = nullptr,
                         const std::vector<acme::PolicyStatus>* acme = nullptr,
                         const AdminListenerCounts* admin = nullptr);

}  // namespace tlsgate::admin
