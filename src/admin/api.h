// Api: the admin HTTP API's routing and answers (docs/ADMIN.md), apart from
// any socket so it can be tested and fuzzed with hand-made requests.
//
// handle() gets a request the server has already read within its limits,
// with the caller's role (admin/access.h), and calls `done` exactly once
// with the answer — at once, or later on the control loop when the gate
// must be asked (connections, reload). Every method runs on the control
// loop; the Api and its Backend must outlive every pending `done`.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "acme/manager.h"
#include "admin/access.h"
#include "admin/backend.h"
#include "admin/metrics.h"
#include "cluster/runtime.h"
#include "util/clock.h"

namespace tlsgate::admin {

enum class Listener {
  kAdmin,    // HTTPS, identities: the whole API
  kMetrics,  // admin.metrics_address, plaintext: GET /metrics and /healthz only
};

struct ApiRequest {
  std::string method;  // "GET", "PUT", ...
  std::string target;  // "/v1/connections?connector=pg"
  std::string body;
  std::string identity;  // of the client certificate ("" on the metrics listener)
  Role role = Role::kNone;
  std::string peer;  // "ip:port", for log lines
};

struct ApiResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra, e.g. Allow
};

struct ApiOptions {
  std::string version;           // GET /v1/status "version" (the binary's)
  bool expand_commands = false;  // for uploads into policies with $(command) passwords
  const util::Clock* clock = &util::SystemClock::instance();
  // The cluster layer when cluster.enabled (GET /v1/cluster, replacements), else null.
  cluster::ClusterRuntime* cluster = nullptr;
  // The ACME manager when a policy uses ACME (GET /v1/acme, metrics), else null.
  const acme::Manager* acme = nullptr;
  // admin.ssl_policy and the host of admin.listen_address: an upload for
  // that policy must cover the host. "" host: none to check (any address).
  std::string admin_policy = "admin";
  std::string admin_listen_host;
};

class Api {
 public:
  Api(Backend& backend, ApiOptions options);
  void handle(const ApiRequest& request, Listener listener, std::function<void(ApiResponse)> done);
  // The admin listener counts its refusals here; /metrics shows them.
  AdminListenerCounts& listener_counts() { return listener_counts_; }

 private:
  void cluster_request(const std::string& path, const ApiRequest& request,
                       std::function<void(ApiResponse)> done);
  void put_certificate(const std::string& scope, const ApiRequest& request,
                       std::function<void(ApiResponse)> done);

  Backend& backend_;
  ApiOptions options_;
  AdminListenerCounts listener_counts_;
};

// The JSON error answer: {"error": ..., "fix": ...}.
ApiResponse error_response(unsigned status, const std::string& error, const std::string& fix);

}  // namespace tlsgate::admin
