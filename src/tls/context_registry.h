// ContextRegistry: the current Context of every (policy, side) in use, and
// their reload (STYLE.md practice 3).
//
// Each entry is a util::Versioned<Context>: sessions take a snapshot with
// get() when they start and keep it; reload() builds a complete new Context
// from the settings and the files on disk and publishes it with one atomic
// swap — or, if anything fails (a half-written key, a key that does not
// match, a bad cipher name), keeps the old one and reports why. Never a
// broken context replaces a working one. reload() may run on any thread (the
// watcher's, a signal handler's loop); concurrent reloads are serialised.
//
// subscribe() lets a user of an entry hear about each new context right
// after it is published — a connection pool closes its idle connections then
// (DESIGN.md "Reload and rotation"): polling the entry's generation would
// leave stale connections idle until the next lease.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/settings.h"
#include "tls/context.h"
#include "util/clock.h"
#include "util/mutex.h"
#include "util/result.h"
#include "util/versioned.h"

namespace tlsgate::tls {

struct PolicyState {
  // Reloads that published a changed context (ReloadReport::changed).
  uint64_t reloads_ok = 0;
  uint64_t reloads_failed = 0;
  std::string last_error;  // "" after a successful reload
  std::string serial;      // of the certificate now served ("" if none)
  util::SystemTime not_after{};
  util::SystemTime loaded_at{};
  std::vector<std::string> warnings;  // about the context now served, to log (crl_warnings)
};

struct ReloadReport {
  std::string scope;
  Side side = Side::kServer;
  bool ok = false;
  // What is served changed: the policy's settings or the bytes of its key,
  // certificate, trusted_dir or revoked_dir files (tls/policy_inputs.h); true
  // when that cannot be told (a key on a token). When ok and false, the same
  // context was built again and published; observers are not told.
  bool changed = false;
  std::string old_serial, new_serial;
  util::SystemTime new_not_after{};
  std::string error;  // when !ok: names key and file
  // When ok: about the new context, to log (a stale CRL: crl_warnings).
  std::vector<std::string> warnings;
};

class ContextRegistry {
  struct Observers;

 public:
  using Key = std::pair<std::string, Side>;
  using Entry = std::shared_ptr<util::Versioned<Context>>;
  using ReloadObserver = std::function<void(const ReloadReport&)>;

  // Keeps an observer registered; destroying or reset()ting it unregisters.
  // Once reset() returns the observer is not running and will not be called
  // again, so it may capture things that die right after. Safe to outlive
  // the registry. Move-only.
  class Subscription {
   public:
    Subscription() = default;
    Subscription(Subscription&&) noexcept = default;
    Subscription& operator=(Subscription&& other) noexcept {
      if (this != &other) {
        reset();
        observers_ = std::move(other.observers_);
        id_ = other.id_;
      }
      return *this;
    }
    ~Subscription() { reset(); }
    void reset();

   private:
    friend class ContextRegistry;
    Subscription(std::weak_ptr<Observers> observers, uint64_t id)
        : observers_(std::move(observers)), id_(id) {}
    std::weak_ptr<Observers> observers_;
    uint64_t id_ = 0;
  };

  ContextRegistry(BuildOptions options, const util::Clock& clock)
      : options_(std::move(options)), clock_(clock) {}

  // Builds (scope, side) from policy on first use; later calls return the same entry.
  util::Result<Entry> acquire(const config::Policy& policy, Side side);

  // Rebuilds every entry whose scope is in `scopes` (all when empty) from
  // `policies` (the config now in force) and publishes what built (also
  // when unchanged). Then calls every observer once per report with changed=true, on the
  // reloading thread, after the new context is published and outside the
  // registry's lock (an observer may call acquire() or states()).
  std::vector<ReloadReport> reload(const std::map<std::string, config::Policy>& policies,
                                   const std::vector<std::string>& scopes = {});

  // Calls on_reload for every context published from now on, of any entry
  // (filter on report.scope and .side). Observers run one at a time; they must
  // be quick and must not subscribe, unsubscribe or reload (that deadlocks).
  // Reports of concurrent reloads may arrive in either order: read the entry
  // for the current context rather than trusting the order.
  [[nodiscard]] Subscription subscribe(ReloadObserver on_reload);

  std::map<Key, PolicyState> states() const;
  util::Status rotate_ticket_keys() {
    return options_.tickets ? options_.tickets->rotate() : util::Status{};
  }
  std::vector<config::Policy> policies() const;  // the settings of every entry, one per scope

 private:
  struct Slot {
    Entry entry;
    PolicyState state;
    std::optional<std::string> inputs;  // policy_inputs_digest() of the context served
  };
  struct Observers {
    util::Mutex mu;  // held while an observer runs, so reset() waits for it
    uint64_t next_id GUARDED_BY(mu) = 1;
    std::map<uint64_t, ReloadObserver> by_id GUARDED_BY(mu);
  };
  // reload() without telling observers.
  std::vector<ReloadReport> rebuild(const std::map<std::string, config::Policy>& policies,
                                    const std::vector<std::string>& scopes);

  BuildOptions options_;
  const util::Clock& clock_;
  mutable util::Mutex mu_;
  std::map<Key, Slot> slots_ GUARDED_BY(mu_);
  // Shared with every Subscription, so one that outlives the registry is harmless.
  std::shared_ptr<Observers> observers_ = std::make_shared<Observers>();
};

}  // namespace tlsgate::tls
