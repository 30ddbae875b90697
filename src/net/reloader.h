// Reloader: the gate's reloads — a policy's files changing (tls::FileWatcher,
// after server.reload_settle), a connector's user_map changing, and a full
// re-read of the config file (SIGHUP, Gate::reload()).
//
// Each rebuilds what changed and publishes it (ContextRegistry::reload, a
// user_map's Versioned, then on_user_map for that connector); what fails to
// build keeps the old version and is logged, naming key and file, and is
// kept for status() (a broken user_map: user_maps()). Connector, server.*,
// admin.*, cluster.* and acme_* settings take effect only at a restart; a
// reload that changes them names each key (net/restart_only.h), in the log
// and in its outcome's warnings.
//
// A user_map that stays broken is logged once per content: the watch is on
// its folder, and a file there (the gate's own log, say) must not repeat
// the same error on every change.
//
// File changes are handled on the watcher's thread, reload_config() on the
// caller's (the gate's control loop); reload_mutex serialises them. The
// configuration, the registry and the connectors must outlive the Reloader,
// whose destructor (and stop()) joins the watcher's thread first.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/settings.h"
#include "net/connector_runtime.h"
#include "net/gate_status.h"
#include "tls/context_registry.h"
#include "tls/file_watcher.h"
#include "util/mutex.h"
#include "util/result.h"

namespace tlsgate::net {

class Reloader {
 public:
  using Connectors = std::vector<std::unique_ptr<ConnectorRuntime>>;
  // Called right after a connector's new user_map is published, on the
  // reloading thread (the watcher's or reload_config()'s caller); quick.
  using UserMapObserver = std::function<void(const ConnectorRuntime&)>;
  // Called with each policy rebuild the registry's subscribers do not hear
  // of: those that failed (the old context stays) and those whose inputs had
  // not changed (ReloadReport::changed false), on the reloading thread. Quick.
  using UnheardObserver = std::function<void(const tls::ReloadReport&)>;

  // Starts watching the files of every policy in the registry and each
  // connector's user_map; `config` is the configuration the gate started
  // with (the gate's own copy, not one of the Reloader's).
  static util::Result<std::unique_ptr<Reloader>> create(const config::Config& config,
                                                        tls::ContextRegistry& registry,
                                                        Connectors& connectors,
                                                        UserMapObserver on_user_map = {},
                                                        UnheardObserver on_unheard = {});
  ~Reloader();
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  // Re-reads the config file and rebuilds every policy and user_map, then
  // watches the files the new policies name. Not on the watcher's thread.
  // Returns what it did: the config's errors (then nothing was rebuilt), or
  // the registry's report of each policy.
  ReloadOutcome reload_config();
  // Rebuilds policy `scope` (both sides in use) from its files now, as a
  // file change would, under the policies in force. A scope the gate does
  // not use: config_ok=false and one line saying so. Not on the watcher's thread.
  ReloadOutcome reload_policy(const std::string& scope);
  // No more file-change reloads (the gate drains); joins the watcher's thread.
  void stop();

  // Every connector's user_map as its last load left it; any thread.
  std::vector<UserMapStatus> user_maps() const;
  // The warnings of the last reload_config() (ReloadOutcome::warnings); any thread.
  std::vector<std::string> last_config_warnings() const;

 private:
  Reloader(const config::Config& config, tls::ContextRegistry& registry, Connectors& connectors);
  util::Status watch_files();
  // Logs the reports and tells on_unheard_ of the failed and unchanged ones.
  // requested: SIGHUP or the API (an unchanged policy is logged at info),
  // not a file change (at debug).
  void report(const std::vector<tls::ReloadReport>& reports, const char* trigger, bool requested);
  void on_file_change(const std::string& name);
  // Reloads the user_map of connector map key `only` (all when empty).
  // requested: a reload someone asked for, which logs a failure even when
  // it is the one already logged.
  std::vector<UserMapStatus> reload_user_maps(const std::string& only, bool requested)
      REQUIRES(reload_mutex_);

  // What the last load of a user_map found.
  struct MapState {
    UserMapStatus status;
    std::string failed_content;  // SHA-256 of the text that failed, to log it once
  };

  // The configuration the gate started with: its file, server.* and
  // connectors never change without a restart, so it is read without a lock.
  const config::Config& started_;
  // The policies now in force, replaced by each configuration reload.
  std::map<std::string, config::Policy> policies_ GUARDED_BY(reload_mutex_);
  tls::ContextRegistry& registry_;
  Connectors& connectors_;
  UserMapObserver on_user_map_;  // set before the watcher starts, then only read
  UnheardObserver on_unheard_;   // likewise
  util::Mutex reload_mutex_;
  mutable util::Mutex state_mu_;                                      // never held while reloading
  std::map<std::string, MapState> map_states_ GUARDED_BY(state_mu_);  // by map key
  std::vector<std::string> last_warnings_ GUARDED_BY(state_mu_);
  std::unique_ptr<tls::FileWatcher> watcher_;  // last: its thread uses the members above
};

}  // namespace tlsgate::net
