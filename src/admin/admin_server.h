// AdminServer: the admin listeners of issue 14 on the gate's control loop.
//
// create() binds admin.listen_address (HTTPS under admin.ssl_policy, whose
// client_auth=REQUIRE makes a client without a certificate fail the
// handshake) and, when set, admin.metrics_address (plaintext, /metrics and
// /healthz only), and starts accepting on gate.control_loop(); requests are
// served once the gate's run() runs that loop. Each accepted HTTPS
// connection takes the admin context published at that moment
// (gate.admin_context()->get()), so a reload of the admin policy applies to
// the next connection, as for every connector. Open HTTPS connections are
// re-checked against a republished admin context (chain, CRLs, validity,
// allowed_identities, pins) before their next request and, when idle,
// within a quarter second; a peer it refuses is closed (docs/ADMIN.md).
//
// TLS: Beast's ssl_stream over asio::ssl, which wraps the admin context's
// own SSL_CTX (one reference taken per connection) rather than a second
// context built here: the policy, its verify callback, CRLs and identity
// mapping are exactly the registry's, and a reload applies at the next
// accept. asio's memory-BIO copies cost nothing that matters at admin
// request rates, and Beast's parser and timeouts come with it (the gate's
// own socket BIO stream, net/stream.h, is no Beast AsyncStream). After the
// handshake tls::check_peer() maps the identity as connectors do.
//
// HEAD is answered as GET without the body.
//
// HTTP/1.1 by Boost.Beast, keep-alive; limits per connection (Limits).
// Everything runs on the control loop; create() and the destructor must be
// called on the thread that owns the gate, with the loop not running
// handlers concurrently (before run(), or after it returned). The server's
// shared state outlives pending handlers, so the gate may be destroyed
// after it either way.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "config/settings.h"
#include "util/result.h"

namespace tlsgate::net {
class Gate;
}
namespace tlsgate::cluster {
class ClusterRuntime;
}
namespace tlsgate::acme {
class Manager;
}

namespace tlsgate::admin {

struct Limits {
  size_t header_bytes = 8 * 1024;   // request line and headers; more: 431, closed
  size_t body_bytes = 1024 * 1024;  // more: 413, closed
  // The TLS handshake, and each request's body, handling and answer.
  std::chrono::milliseconds request_timeout{10000};
  // Waiting for (and reading the headers of) the next request on a kept-alive connection.
  std::chrono::milliseconds idle_timeout{30000};
  size_t max_connections = 256;  // per listener; a connection over it is closed at once
};

struct AdminServerOptions {
  std::string version;                         // GET /v1/status "version"
  bool expand_commands = false;                // serve --expand-commands
  cluster::ClusterRuntime* cluster = nullptr;  // GET /v1/cluster and the replacements
  const acme::Manager* acme = nullptr;         // GET /v1/acme and its metrics; null: no ACME
  Limits limits;
};

class AdminServer {
 public:
  static util::Result<std::unique_ptr<AdminServer>> create(net::Gate& gate,
                                                           const config::Admin& settings,
                                                           const AdminServerOptions& options);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  uint16_t port() const;                         // of admin.listen_address, as bound
  std::optional<uint16_t> metrics_port() const;  // of admin.metrics_address, if set

  struct Impl;

 private:
  explicit AdminServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tlsgate::admin
