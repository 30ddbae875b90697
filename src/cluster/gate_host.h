// GateHost: LocalHost (node.h) for a running gate. The facts come from the
// gate's own status (the context it serves now); reload() asks the gate to
// rebuild the policy from its files (Gate::reload_policy, on its control
// loop) and waits for the outcome, at most `timeout`.
#pragma once

#include <chrono>

#include "cluster/node.h"
#include "net/gate.h"

namespace tlsgate::cluster {

class GateHost : public LocalHost {
 public:
  GateHost(net::Gate& gate, bool expand_commands,
           std::chrono::seconds timeout = std::chrono::seconds(15))
      : gate_(gate), expand_commands_(expand_commands), timeout_(timeout) {}
  util::Result<ScopeFacts> facts(const std::string& scope) override;
  util::Result<std::string> reload(const std::string& scope) override;

 private:
  net::Gate& gate_;
  bool expand_commands_;
  std::chrono::seconds timeout_;
};

}  // namespace tlsgate::cluster
