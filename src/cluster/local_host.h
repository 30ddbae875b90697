// LocalHost: what a cluster node does to its own policies (node.h): the
// facts a replacement is checked against, and a reload. GateHost
// (gate_host.h) asks the running gate; FilesHost reads the config and the
// files alone: before the gate starts (a node that was down applies what it
// missed before it serves), for the `cluster` verbs, and in tests.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/settings.h"
#include "tls/certificate_pair.h"
#include "util/clock.h"
#include "util/result.h"

namespace tlsgate::cluster {

class LocalHost {
 public:
  struct ScopeFacts {
    tls::PairTarget target;  // the policy, and the hosts its connectors listen on here
    std::string serial;      // served now; "" when none
    std::optional<util::SystemTime> not_after;
  };
  virtual ~LocalHost() = default;
  virtual util::Result<ScopeFacts> facts(const std::string& scope) = 0;
  // Rebuilds the scope's policy from its files now; the serial then served.
  virtual util::Result<std::string> reload(const std::string& scope) = 0;
};

// The policies as the config and the files on disk say, with no gate
// running: reload() reads the certificate file back.
class FilesHost : public LocalHost {
 public:
  FilesHost(config::Config config, bool expand_commands, const util::Clock& clock)
      : config_(std::move(config)), expand_commands_(expand_commands), clock_(clock) {}
  util::Result<ScopeFacts> facts(const std::string& scope) override;
  util::Result<std::string> reload(const std::string& scope) override;

 private:
  config::Config config_;
  bool expand_commands_;
  const util::Clock& clock_;
};

// Adds to `target` the hosts a certificate of `scope` must name: those the
// server-side connectors of `scope` listen on, and the admin listener's when
// it serves with `scope` (a certificate without it would lock the operators
// out of the API); "" and wildcard addresses skipped.
void add_listen_hosts(tls::PairTarget& target, const config::Config& config,
                      const std::string& scope);

}  // namespace tlsgate::cluster
