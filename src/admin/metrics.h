// The Prometheus text exposition of a GateStatus (GET /metrics).
//
// Built at scrape time from the folded counters (net/gate_status.h): the
// data path counts in per-worker counters and never touches prometheus-cpp.
// prometheus-cpp's core supplies the MetricFamily structs and the
// TextSerializer (format 0.0.4). Names, types and labels are those of
// docs/ADMIN.md; failure reasons are tls::reason_name()'s words.
#pragma once

#include <string>

#include "net/gate_status.h"

namespace tlsgate::admin {

inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string metrics_text(const net::GateStatus& status);

}  // namespace tlsgate::admin
