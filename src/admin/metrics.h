// The Prometheus text exposition of a GateStatus (GET /metrics).
//
// Built at scrape time from the folded counters (net/gate_status.h): the
// data path counts in per-worker counters and never touches prometheus-cpp.
// prometheus-cpp's core supplies the MetricFamily structs and the
// TextSerializer (format 0.0.4). Names, types and labels are those of
// docs/ADMIN.md; failure reasons are tls::reason_name()'s words.
#pragma once

#include <string>

#include <vector>

#include "acme/manager.h"
#include "cluster/node.h"
#include "net/gate_status.h"

namespace tlsgate::admin {

inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// `cluster`: this node's view of the cluster (cluster.enabled), or null;
// `acme`: the ACME manager's policies, or null.
std::string metrics_text(const net::GateStatus& status,
                         const cluster::ClusterStatus* cluster = nullptr,
                         const std::vector<acme::PolicyStatus>* acme = nullptr);

}  // namespace tlsgate::admin
