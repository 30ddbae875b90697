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
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/settings.h"
#include "tls/context.h"
#include "util/clock.h"
#include "util/result.h"
#include "util/versioned.h"

namespace tlsgate::tls {

struct PolicyState {
  uint64_t reloads_ok = 0;
  uint64_t reloads_failed = 0;
  std::string last_error;  // "" after a successful reload
  std::string serial;      // of the certificate now served ("" if none)
  util::SystemTime not_after{};
  util::SystemTime loaded_at{};
};

struct ReloadReport {
  std::string scope;
  Side side = Side::kServer;
  bool ok = false;
  bool changed = false;  // a new context was published
  std::string old_serial, new_serial;
  util::SystemTime new_not_after{};
  std::string error;  // when !ok: names key and file
};

class ContextRegistry {
 public:
  using Key = std::pair<std::string, Side>;
  using Entry = std::shared_ptr<util::Versioned<Context>>;

  ContextRegistry(BuildOptions options, const util::Clock& clock)
      : options_(std::move(options)), clock_(clock) {}

  // Builds (scope, side) from policy on first use; later calls return the same entry.
  util::Result<Entry> acquire(const config::Policy& policy, Side side);

  // Rebuilds every entry whose scope is in `scopes` (all when empty) from
  // `policies` (the config now in force) and publishes what built.
  std::vector<ReloadReport> reload(const std::map<std::string, config::Policy>& policies,
                                   const std::vector<std::string>& scopes = {});

  std::map<Key, PolicyState> states() const;
  void rotate_ticket_keys() {
    if (options_.tickets) options_.tickets->rotate();
  }
  std::vector<config::Policy> policies() const;  // the settings of every entry, one per scope

 private:
  struct Slot {
    Entry entry;
    PolicyState state;
  };
  BuildOptions options_;
  const util::Clock& clock_;
  mutable std::mutex mu_;
  std::map<Key, Slot> slots_;  // GUARDED_BY(mu_)
};

}  // namespace tlsgate::tls
