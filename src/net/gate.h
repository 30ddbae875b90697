// Gate: the data path of `tlsgate serve` — listeners, workers and sessions.
//
// create() builds every context the config's connectors need (failing with
// the first error, naming key and file) and binds every listen address on
// each worker with SO_REUSEPORT; nothing is served until all of that worked.
// run() serves on `server.worker_threads` threads (each its own Asio event
// loop) until SIGTERM/SIGINT or stop(), then drains: listeners close at
// once, live connections get up to `server.shutdown_timeout` to finish, the
// rest are closed. run() returns 0 after a clean drain, 1 when connections
// had to be cut. stop() and reload() may be called from any thread.
//
// Descriptors (net/fd_budget.h): the process's limits are the embedding
// application's to set (tlsgate serve raises the soft RLIMIT_NOFILE to the
// hard one before create()). create() takes the soft limit in force and
// warns when the connectors' max_connections may not fit under it. A client
// that arrives when its two descriptors would not fit is closed at accept,
// before its TLS handshake, counted in its connector's refused_no_descriptors
// and logged (rate-limited) with the limit to raise. create() also grows
// the process's descriptor table once to what max_connections may need (at
// most 65,536 slots: util::reserve_fd_slots), so that a first burst of
// clients does not stop every thread while the kernel grows it.
//
// Reload: a change to a file or folder a policy names rebuilds that policy's
// contexts after server.reload_settle; SIGHUP and reload() re-read the whole
// config. New connections get the new context, established ones keep theirs.
//
// Re-validation (ssl.policy.<scope>.revalidate_established, default true):
// each new context a reload publishes for a policy, and each new user_map of
// a connector, is applied to the established connections too — each worker
// checks its own sessions of that policy again on its thread
// (net/session_table.h, tls/revalidate.h) and closes those that would now be
// refused, one log line each; as it does when a peer's certificate expires.
// close_peers() is the same for a peer certificate found revoked.
#pragma once

#include <openssl/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/settings.h"
#include "net/connector_runtime.h"
#include "net/gate_status.h"
#include "tls/context.h"
#include "tls/context_registry.h"
#include "util/result.h"

namespace boost::asio {
class io_context;
}

namespace tlsgate::net {

// The moments of run() a service manager wants to hear about (tlsgate serve
// turns them into sd_notify(3) messages, net/sd_notify.h).
enum class GateEvent {
  kServing,    // every listener open and every policy loaded; signals handled
  kReloading,  // a SIGHUP reload starts
  kReloaded,   // it ended (failed policies keep their old contexts)
  kStopping,   // the drain begins
};

struct GateOptions {
  bool expand_commands = false;
  bool handle_signals = true;  // install SIGTERM/SIGINT handlers in run()
};

class Gate {
 public:
  static util::Result<std::unique_ptr<Gate>> create(const config::Config& config,
                                                    const GateOptions& options);
  ~Gate();
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  int run();
  void stop();
  // Called on run()'s thread (the control loop) at each GateEvent; quick.
  // Set before run().
  void on_event(std::function<void(GateEvent)> handler);
  // Re-reads the config file and rebuilds every policy's contexts (as SIGHUP
  // does); a policy that fails to build keeps serving its old context.
  void reload();

  const std::vector<std::unique_ptr<ConnectorRuntime>>& connectors() const;
  const config::Config& config() const;  // as the gate started

  // For the admin layer (net/gate_status.h). --------------------------------
  // Everything the gate knows about itself, folded now. Any thread.
  GateStatus status() const;
  // The loop run() runs on its calling thread (signals, reloads, timers);
  // the admin listeners live on it. Every `done` below is called on it.
  boost::asio::io_context& control_loop();
  // The server context of admin.ssl_policy, from the same registry as every
  // other (so it reloads like them); null when admin.enabled is false.
  std::shared_ptr<util::Versioned<tls::Context>> admin_context() const;
  // Tells `on_reload` of every changed context the registry publishes
  // (tls::ContextRegistry::subscribe: on the reloading thread; be quick,
  // reload nothing) until the subscription is dropped, before the gate.
  [[nodiscard]] tls::ContextRegistry::Subscription subscribe_reloads(
      tls::ContextRegistry::ReloadObserver on_reload);
  // The client context of cluster.ssl_policy (the link to etcd), from the
  // same registry, so its files and SIGHUP reload it; null when the cluster
  // is off or reaches etcd over http:// only.
  std::shared_ptr<util::Versioned<tls::Context>> cluster_context() const;
  // The tls-alpn-01 challenges every ACME policy's listeners answer
  // (tls/acme_answers.h); the ACME manager adds and removes them.
  std::shared_ptr<tls::AcmeChallengeStore> acme_challenges() const;
  // Established connections of `connector` ("" = all), oldest first, at
  // most `limit`.
  void connections(std::string connector, size_t limit,
                   std::function<void(std::vector<ConnectionInfo>)> done);
  // Closes connection `id` (both sides) with one log line naming `who`
  // ("admin API, identity \"ops\""); done(false) when no such connection.
  void close_connection(uint64_t id, std::string who, std::function<void(bool found)> done);
  // reload() that tells what it did.
  void reload(std::function<void(ReloadOutcome)> done);
  // Rebuilds policy `scope` from its files now (as a file change would,
  // without the settle window): after the admin API wrote new ones.
  void reload_policy(std::string scope, std::function<void(ReloadOutcome)> done);
  // reload_policy() from a thread other than the control loop's: waits at
  // most `timeout` for the outcome; the policy's build error, if any.
  util::Status reload_policy_and_wait(const std::string& scope, std::chrono::seconds timeout);

  // For the revocation engine: closes every established connection of
  // policy `scope` on `side` (kServer: its clients, kClient: its backends)
  // whose peer's leaf certificate `matches`, when the policy re-validates
  // (revalidate_established). `reason` is the refusal in a handshake
  // refusal's words, e.g. "client certificate CN=app1 (serial 1f) is revoked
  // (OCSP, http://ocsp.example/)"; each closing logs "connector C: client
  // ADDR (identity "I"): closed by re-validation after a revocation check:
  // REASON". Any thread; returns at once, the workers close shortly after.
  // `matches` runs on every worker thread, concurrently: it must only read
  // (compare tls::certificate_sha256(leaf) with the revoked one, say).
  void close_peers(const std::string& scope, tls::Side side,
                   std::function<bool(const X509& leaf)> matches, std::string reason);

 private:
  struct Impl;
  explicit Gate(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tlsgate::net
