// The JSON of `tlsgate cluster status --json` and GET /v1/cluster (the same
// document; docs/CLUSTER.md lists its fields).
#pragma once

#include <nlohmann/json.hpp>

#include "cluster/node.h"

namespace tlsgate::cluster {

nlohmann::json to_json(const ClusterStatus& status);

}  // namespace tlsgate::cluster
