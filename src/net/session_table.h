// SessionTable: the established sessions one worker runs, found again when
// their peer must be checked again (ssl.policy.<scope>.revalidate_established).
//
// Each worker owns one table, used only on that worker's thread: a session
// adds itself when its peer passed its checks (client handshake, backend
// handshake) and removes itself when it ends. Nothing of it is on the data
// path — one add and one remove per connection, no lock, no atomic.
//
// Sessions are listed per connector, so a change of one policy walks only
// the connectors that use it: O(connections of that policy) once per change.
//  - revalidate_policy(): a new context of (scope, side) was published (a
//    CRL, trusted/, pinned_certs, allowed_identities, a SIGHUP): each session
//    of a connector with that policy on that side is checked again.
//  - revalidate_connector(): the connector's user_map changed.
//  - close_peers(): sessions whose peer's leaf on a side matches (the
//    revocation engine learned it is revoked) are closed.
//  - expiry: one system_timer per table on the earliest notAfter among its
//    sessions' peers (an ordered map, so a session that ends leaves no entry
//    behind); when it fires, the sessions due are checked again, and those
//    whose certificate expired are closed.
// The session decides and closes (TrackedSession::revalidate); whether a
// policy re-validates at all is read from its current context
// (revalidates()), once per connector.
//
// Lifetime: the table must be destroyed on its worker's thread or after it
// stopped; destroying it detaches every session still listed (their later
// untrack() does nothing), so sessions may outlive it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <openssl/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/system_timer.hpp>

#include "net/connector_runtime.h"
#include "tls/context.h"
#include "util/clock.h"

namespace tlsgate::net {

class SessionTable;

// A predicate on a peer's leaf certificate; called on worker threads, so it
// must be safe to call concurrently (tls::certificate_sha256() to compare).
using PeerMatch = std::function<bool(const X509& leaf)>;

// What a session is asked to check again.
struct Revalidation {
  enum class Kind {
    kContext,  // its connector's context of `side` changed: recheck that peer
    kUserMap,  // its connector's user_map changed: recheck the database user
    kExpiry,   // a peer certificate's notAfter passed: recheck every peer
    kPeer,     // close it when `match` says yes for its peer on `side`
  };
  Kind kind = Kind::kContext;
  tls::Side side = tls::Side::kServer;
  // For the log line: what happened, e.g. "ssl.policy.db (incoming) was
  // reloaded"; for kPeer the refusal itself, in a handshake refusal's words
  // (logged after "closed by re-validation after a revocation check: ").
  std::string_view trigger;
  const PeerMatch* match = nullptr;  // kPeer only
};

// Whether connector c's policy on `side` (its current context) re-checks
// established connections; false when the connector has no TLS on that side.
bool revalidates(const ConnectorRuntime& c, tls::Side side);

// A session a SessionTable can list. Implemented by net::Session; its hook
// is touched only by the table, on the worker's thread.
class TrackedSession {
 public:
  // Checks again as `what` says and, when the peer would now be refused,
  // closes the session (both sides) with one log line naming connector,
  // peer, identity and reason. It may untrack() itself, nothing else.
  virtual void revalidate(const Revalidation& what) = 0;

 protected:
  TrackedSession() = default;
  virtual ~TrackedSession() = default;
  TrackedSession(const TrackedSession&) = delete;
  TrackedSession& operator=(const TrackedSession&) = delete;
  // Leaves the table it is in, if any (a session that ends).
  void untrack();

 private:
  friend class SessionTable;
  using ExpiryMap = std::multimap<util::SystemTime, TrackedSession*>;
  SessionTable* table_ = nullptr;  // null: in no table
  const ConnectorRuntime* connector_ = nullptr;
  TrackedSession* prev_ = nullptr;  // in its connector's list
  TrackedSession* next_ = nullptr;
  std::optional<ExpiryMap::iterator> expiry_;
};

class SessionTable {
 public:
  explicit SessionTable(boost::asio::io_context& loop);
  ~SessionTable();
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  // Lists s under connector c (again: no change but the expiry). `expiry`:
  // when a certificate of its peer stops verifying by time (nullopt: none);
  // the earliest one given is kept.
  void add(TrackedSession& s, const ConnectorRuntime& c, std::optional<util::SystemTime> expiry);
  void remove(TrackedSession& s);

  void revalidate_policy(const std::string& scope, tls::Side side, std::string_view trigger);
  void revalidate_connector(const ConnectorRuntime& c, const Revalidation& what);
  void close_peers(const std::string& scope, tls::Side side, const PeerMatch& match,
                   std::string_view reason);

  size_t size() const { return size_; }
  // The earliest expiry the timer waits for (nullopt: none); for tests.
  std::optional<util::SystemTime> next_expiry() const;

 private:
  struct Bucket {
    TrackedSession* head = nullptr;
  };
  static bool uses(const ConnectorRuntime& c, const std::string& scope, tls::Side side);
  void walk(const ConnectorRuntime& c, const Revalidation& what);
  void arm();
  void on_timer();

  std::unordered_map<const ConnectorRuntime*, Bucket> buckets_;  // never erased: walks hold them
  TrackedSession::ExpiryMap expiries_;
  size_t size_ = 0;
  boost::asio::system_timer timer_;
  std::optional<util::SystemTime> armed_for_;  // what the timer waits for now
};

}  // namespace tlsgate::net
