// OcspEngine: every OCSP exchange of the gate, on one thread of its own, so
// that no worker ever waits for a responder (issue 13, DESIGN.md
// "Revocation").
//
// Stapling. track() is given each server context with ocsp_stapling (at
// start, and again after each reload publishes one). For its leaf the engine
// finds the issuer (the certificate file's chain, then trusted_dir), the
// responder (ocsp_responder, else the leaf's AIA), and keeps a verified
// response in the StapleStore the contexts staple from:
// - a response cached in server.state_dir/ocsp/ is loaded at once when it
//   is still valid, so a restart staples even while the responder is down;
// - otherwise create() may wait_first() (up to 2 s) before the ports open;
// - refreshes come at half the time left to nextUpdate, no later than an
//   hour and no sooner than 5 minutes, unless nextUpdate itself is closer
//   (an expired staple is worse than an early fetch); failures retry with
//   backoff from 5 s to 5 min while the last good response is stapled until
//   its nextUpdate, then nothing is;
// - a new leaf (a reload that swaps the certificate) starts its own fetch at
//   once and is never served the old leaf's response (the store is keyed by
//   leaf);
// - a `revoked` answer about our own certificate is logged as an error and
//   still stapled: clients must see the truth.
//
// Peer checks. check() asks about a peer's certificate: a stapled response
// it brought (a backend's) counts if it verifies, else the responder is
// asked. Answers are cached per certificate until their nextUpdate (at most
// an hour without one), in a bounded cache; concurrent checks of one
// certificate share one fetch. `done` runs on the engine's thread: the
// caller posts back to its own. While the caller keeps the PeerHold that
// check() returns (a session keeps it for its life), the certificate is
// asked about again whenever its answer is due, so a connection that stays
// open for days is closed when its peer is revoked meanwhile; a responder
// that fails then closes nothing (the connection was admitted already).
//
// Threads: every public member may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pki/handles.h"
#include "tls/context.h"
#include "tls/ocsp_staple.h"
#include "util/clock.h"
#include "util/mutex.h"
#include "util/versioned.h"

namespace tlsgate::net {

// What the rest of the product sees of one policy's staple (issue 13, 4).
struct StapleState {
  std::string scope;
  std::string subject, serial;  // of the leaf
  std::string responder;        // URL asked; "" when none could be found
  std::string status = "none";  // good, revoked, unknown, none
  std::optional<std::chrono::system_clock::time_point> this_update, next_update;
  std::optional<std::chrono::system_clock::time_point> last_fetch;
  std::string last_error;  // "" after a good fetch
};

// A peer's revocation status, as check() found it.
struct PeerStatus {
  enum class Kind {
    kGood,
    kRevoked,
    kUnknown,      // the responder does not know the certificate
    kUnavailable,  // no responder named, none answered in time, or its answer did not verify
  };
  Kind kind = Kind::kUnavailable;
  std::string detail;  // one sentence for the log: what was asked, what came back
};

struct PeerQuery {
  pki::X509Ptr leaf;
  pki::X509Ptr issuer;
  std::string responder;  // the policy's ocsp_responder, or "" for the leaf's AIA
  std::string stapled;    // a DER response the peer stapled, or ""
};

// Keeps a peer's certificate under watch while a connection uses it: the
// engine asks its responder again each time the last answer is due for a
// refresh (as for a staple: half the time left to nextUpdate, between 5
// minutes and an hour; failures retried with backoff from 5 s to 5 min), so
// a revocation learned while the connection is open closes it
// (Options::on_peer_revoked). Dropping the last hold of a certificate ends
// its watch. Move-only; may be destroyed on any thread, also after the engine.
class PeerHold {
 public:
  PeerHold() = default;
  PeerHold(PeerHold&& other) noexcept = default;
  PeerHold& operator=(PeerHold&& other) noexcept {
    if (this != &other) {
      release();
      held_ = std::move(other.held_);
      id_ = std::move(other.id_);
    }
    return *this;
  }
  ~PeerHold() { release(); }
  // A certificate is under watch through this hold.
  bool holds() const { return !id_.empty(); }

 private:
  friend class OcspEngine;
  struct Counts {
    util::Mutex mu;
    std::map<std::string, int> by_id GUARDED_BY(mu);  // by leaf fingerprint
  };
  PeerHold(std::weak_ptr<Counts> held, std::string id);
  void release();
  std::weak_ptr<Counts> held_;
  std::string id_;
};

struct OcspCounters {
  std::atomic<uint64_t> fetches{0};
  std::atomic<uint64_t> fetch_failures{0};  // no answer, or one that did not verify
  std::atomic<uint64_t> own_revoked{0};     // answers that our own certificate is revoked
  std::atomic<uint64_t> peer_cache_hits{0};
};

class OcspEngine {
 public:
  // Called on the engine's thread when an answer says a peer's certificate
  // (SHA-256 fingerprint as pki::fingerprint_sha256) is revoked, with the
  // sentence for the log: its established connections are to be closed.
  using PeerRevoked =
      std::function<void(const std::string& fingerprint, const std::string& detail)>;

  struct Options {
    std::filesystem::path state_dir;  // responses are cached in state_dir/ocsp/
    PeerRevoked on_peer_revoked;
    std::chrono::milliseconds fetch_deadline{5000};
    size_t peer_cache_entries = 10000;
    size_t peer_fetches_in_flight = 256;  // beyond: kUnavailable at once
  };

  OcspEngine(Options options, const util::Clock& clock);
  ~OcspEngine();  // stops the thread; pending check() callbacks are dropped unanswered
  OcspEngine(const OcspEngine&) = delete;
  OcspEngine& operator=(const OcspEngine&) = delete;

  // What server contexts with stapling staple from (tls::BuildOptions::staples).
  std::shared_ptr<const tls::StapleStore> staples() const { return staples_; }

  // Keeps scope's server context stapled: `entry` is read now and after
  // every later call (call again when the registry publishes a new context).
  void track(const std::string& scope, std::shared_ptr<util::Versioned<tls::Context>> entry);
  // Blocks up to `limit` until every tracked policy without a cached
  // response has had its first answer or failure.
  void wait_first(std::chrono::milliseconds limit);
  // Fetches every tracked staple now and forgets cached peer answers (SIGHUP).
  void refresh_all();

  // Asks about a peer; `done` gets the answer. The hold keeps the peer
  // under watch (see PeerHold) for as long as the caller keeps it.
  [[nodiscard]] PeerHold check(PeerQuery query, std::function<void(PeerStatus)> done);
  // Peer certificates held by connections now (for tests and metrics).
  size_t peers_held() const;

  std::vector<StapleState> staple_states() const;
  const OcspCounters& counters() const { return counters_; }

 private:
  struct Impl;
  std::shared_ptr<tls::StapleStore> staples_;
  std::shared_ptr<PeerHold::Counts> held_ = std::make_shared<PeerHold::Counts>();
  OcspCounters counters_;
  std::unique_ptr<Impl> impl_;
};

// The responder to ask about cert: `override_url` when set, else the first
// OCSP URL in its AIA; "" when there is none.
std::string ocsp_responder_for(const X509* cert, const std::string& override_url);

}  // namespace tlsgate::net
