// ClientPool: blocking, pooled TLS connections to one backend under one
// outgoing policy — libtlsgate's client API for embedders.
//
// lease() hands out a PooledConnection: an idle one made with the policy's
// current context, or a new one (TCP connect, TLS handshake, then the same
// checks the gate applies to its backends: chain against trusted_dir, the
// server name unless verify_hostname=false, pinned_certs, allowed_identities).
// A lease is owned by one thread at a time; write_all() and read_some()
// block up to a timeout. Returning it — destruction or release() — pools it
// again only if it is healthy (no error, timeout or EOF, no unread bytes),
// its context is still the current one and fewer than max_idle are idle;
// otherwise it is closed (with a TLS close_notify unless it already failed).
//
// Reload (DESIGN.md "Reload and rotation", the Open-Xchange pool rule): when
// the registry publishes a new context for the policy, idle connections are
// closed at once, on the reloading thread; leased ones stay usable and are
// closed when returned. So every lease() that starts after reload() returned
// runs on the new material. A failed reload changes nothing.
//
// ClientPool is thread-safe: lease() and stats() from any thread. It holds
// the registry entry, so the registry may go first; leases may outlive the
// pool (they are closed when returned). Name resolution uses the system
// resolver and is not bounded by connect_timeout; the connect, handshake and
// every read and write are. Every write is send(2) with MSG_NOSIGNAL, so an
// embedder need not ignore SIGPIPE. With TLS 1.3 a backend
// that refuses our client certificate says so after the handshake: the
// first read_some() then fails with the reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <openssl/ssl.h>

#include "config/settings.h"
#include "tls/context.h"
#include "tls/context_registry.h"
#include "tls/peer_identity.h"
#include "util/result.h"

namespace tlsgate::net {

struct ClientPoolOptions {
  config::HostPort endpoint;                         // the backend (required)
  std::string server_name;                           // SNI and name checked; "" = endpoint.host
  size_t max_idle = 8;                               // idle connections kept; more are closed
  config::Seconds connect_timeout{5.0};              // TCP connect, over all resolved addresses
  std::optional<config::Seconds> handshake_timeout;  // default: the policy's handshake_timeout
  config::Seconds io_timeout{30.0};                  // default for write_all() and read_some()
  config::Seconds idle_timeout{60.0};  // older idle connections are closed, not leased; 0 = never
};

struct ClientPoolStats {
  size_t idle = 0;            // pooled, ready for lease()
  size_t open = 0;            // idle + leased
  uint64_t dialed = 0;        // connections made (TCP and TLS handshake done) since create()
  uint64_t closed_stale = 0;  // closed because a reload published a newer context
};

struct PoolCore;  // client_pool.cc: what the pool and its leases share
struct PoolLink;  // client_pool.cc: one connection

// One leased connection. Move-only; empty after release(), discard() or a move.
class PooledConnection {
 public:
  PooledConnection();
  PooledConnection(PooledConnection&& other) noexcept;
  PooledConnection& operator=(PooledConnection&& other) noexcept;
  PooledConnection(const PooledConnection&) = delete;
  PooledConnection& operator=(const PooledConnection&) = delete;
  ~PooledConnection();  // release()

  explicit operator bool() const { return link_ != nullptr; }

  // Writes every byte, or fails naming the backend; timeout defaults to
  // Options::io_timeout. After a failure the connection is not pooled again.
  util::Status write_all(std::string_view data, std::optional<config::Seconds> timeout = {});
  // Reads what is there (at least one byte) into buffer; 0 means the backend
  // closed the connection. Fails on a timeout or a TLS error, with the reason.
  util::Result<size_t> read_some(std::span<char> buffer,
                                 std::optional<config::Seconds> timeout = {});

  // Back to the pool if healthy and current, else closed. Idempotent.
  void release();
  // Closed, never pooled: for a connection the caller knows is out of step.
  void discard();

  // The context it was made with (its policy, own certificate), and the
  // backend as check_peer() saw it. Only on a non-empty lease.
  const tls::Context& context() const;
  const tls::PeerIdentity& peer() const;
  // For reading the session (version, cipher, peer certificate); read and
  // write through this class only.
  const SSL* ssl() const;

 private:
  friend class ClientPool;
  PooledConnection(std::shared_ptr<PoolCore> core, std::unique_ptr<PoolLink> link);
  void give_back(bool keep);

  std::shared_ptr<PoolCore> core_;
  std::unique_ptr<PoolLink> link_;
};

class ClientPool {
 public:
  using Options = ClientPoolOptions;

  // Acquires the policy's client context from the registry (building it on
  // first use); fails with the policy's error, or when options.endpoint is unset.
  static util::Result<ClientPool> create(tls::ContextRegistry& registry,
                                         const config::Policy& policy, Options options);

  ClientPool(ClientPool&&) noexcept = default;
  ClientPool& operator=(ClientPool&& other) noexcept;  // closes this pool's idle connections first
  ClientPool(const ClientPool&) = delete;
  ClientPool& operator=(const ClientPool&) = delete;
  ~ClientPool();  // closes the idle connections; leases out are closed when returned

  // An idle connection on the current context, or a new one. Errors name the
  // backend and the policy and say what to check.
  util::Result<PooledConnection> lease();

  ClientPoolStats stats() const;

 private:
  explicit ClientPool(std::shared_ptr<PoolCore> core);
  void shut_down();

  std::shared_ptr<PoolCore> core_;
  tls::ContextRegistry::Subscription subscription_;
};

}  // namespace tlsgate::net
