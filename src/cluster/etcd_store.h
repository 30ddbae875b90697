// EtcdStore: the Store of store.h on a real etcd (3.4 and later), through
// its v3 JSON gateway over HTTPS with a client certificate (or plain HTTP
// when the endpoints say http://, which the caller allows only under
// cluster.etcd_insecure=true).
//
// Why the gateway, not gRPC: the handful of calls tlsgate makes are one
// POST each, Boost.Beast and OpenSSL are already linked, and the TLS link is
// built from the same policy machinery as every other outgoing connection
// (cluster.ssl_policy: chain, name, pins, reload), where gRPC would bring
// its own TLS stack and code generation for five calls.
//
// Endpoints are tried in order, starting with the one that answered last;
// an endpoint that cannot be reached, or answers "unavailable" (no leader,
// shutting down), gives way to the next, until the call's deadline. A
// refusal that is about the request (a lease that is gone, a bad key) is
// returned at once. put_if() moves on only while its request cannot have
// reached etcd (the connect failed): a transaction sent twice would compare
// false on its own first write, so a lost answer is an error that says so. Errors are sentences
// that name each endpoint tried, what it said, and what to check.
//
// TLS: the context comes from `tls_context` at each new connection, so a
// reload of cluster.ssl_policy applies to the next one (a kept-alive
// connection made with an older context is closed instead of reused); the server must
// present a certificate that chains to the policy's trusted_dir and names
// the endpoint's host (tls/server_name.h; verify_hostname=false turns the
// name check off, as for backends).
//
// Threads: every call may be made from several threads at once; each takes
// a kept-alive connection of its own (at most kMaxIdlePerEndpoint are kept
// per endpoint). watch() opens a connection of its own for its lifetime.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cluster/store.h"
#include "net/https_session.h"
#include "util/mutex.h"
#include "util/result.h"

namespace tlsgate::cluster {

struct EtcdStoreOptions {
  std::vector<std::string> endpoints;  // "https://host:port" or "http://host:port", tried in order
  net::ClientContextSource tls_context;      // needed when an endpoint is https
  std::chrono::milliseconds deadline{5000};  // every unary call, over all endpoints
  // One endpoint's TCP connect and TLS handshake get at most this (within
  // the deadline), so a dead first endpoint leaves time for the next.
  std::chrono::milliseconds connect_timeout{2000};
};

class EtcdStore : public Store {
 public:
  static constexpr size_t kMaxIdlePerEndpoint = 4;

  // Checks the endpoints (at least one, each a base URL; https needs
  // tls_context) without contacting them.
  static util::Result<std::unique_ptr<EtcdStore>> create(EtcdStoreOptions options);
  ~EtcdStore() override;

  util::Result<Snapshot> range(std::string_view prefix) override;
  util::Result<int64_t> put(std::string_view key, std::string_view value,
                            int64_t lease = 0) override;
  util::Result<bool> put_if(std::string_view key, std::string_view value,
                            int64_t expected_mod_revision) override;
  util::Result<bool> put_both_if(std::string_view key, std::string_view value,
                                 int64_t expected_mod_revision, std::string_view also_key,
                                 std::string_view also_value) override;
  util::Result<int64_t> transact(const std::vector<Condition>& when,
                                 const std::vector<Write>& then) override;
  util::Status remove(std::string_view key) override;
  util::Result<int64_t> grant_lease(std::chrono::seconds ttl) override;
  util::Status keep_alive(int64_t lease) override;
  util::Status watch(std::string_view prefix, int64_t start_revision,
                     const std::function<void(const WatchEvent&)>& on_event,
                     std::stop_token stop) override;

  // The endpoint the next call tries first: the last one that answered.
  std::string preferred_endpoint() const;

 private:
  struct Endpoint;
  struct Reply;
  explicit EtcdStore(EtcdStoreOptions options, std::vector<net::BaseUrl> urls);

  enum class Retry {
    kAlways,     // the next endpoint after any failure: the call is idempotent
    kUntilSent,  // only while the request cannot have reached etcd (put_if)
  };
  // POSTs body to `path` ("/v3/kv/put") on the endpoints in turn; the
  // parsed JSON answer of the first that serves it.
  util::Result<Reply> call(std::string_view path, const std::string& body,
                           Retry retry = Retry::kAlways);

  EtcdStoreOptions options_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  std::atomic<size_t> preferred_{0};
};

}  // namespace tlsgate::cluster
