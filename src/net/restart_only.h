// The settings a reload cannot apply: a running gate keeps its connectors,
// its server.*, admin.* and cluster.* settings and each policy's acme_*
// settings as it started with them (they bind ports, start threads, build
// the admin access lists and the etcd link once). A reload that changes one
// of them must say so key by key (STYLE.md practice 22): removing someone's
// admin access must never look as if it took effect.
#pragma once

#include <string>
#include <vector>

#include "config/settings.h"

namespace tlsgate::net {

struct RestartOnlyChange {
  std::string key;         // "admin.read_only_identities", "connector.pg.*" (added or removed)
  config::Location where;  // in the new file; line 0 when the key is no longer set there
  std::string what;        // "changed", "added", "removed"
};

// Every restart-only key whose value differs between the configuration the
// gate started with and `next`, in key order (connectors by name).
std::vector<RestartOnlyChange> restart_only_changes(const config::Config& started,
                                                    const config::Config& next);

// "FILE:LINE: KEY changed; it takes effect only after a restart (systemctl
// restart tlsgate)" (":LINE" left out when 0).
std::string describe(const RestartOnlyChange& change);

}  // namespace tlsgate::net
