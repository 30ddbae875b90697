// GateHost: ManagerHost (acme/manager.h) for a running gate: its listeners'
// challenge store, and Gate::reload_policy_and_wait() for a new pair.
#pragma once

#include <chrono>

#include "acme/manager.h"
#include "net/gate.h"

namespace tlsgate::acme {

class GateHost final : public ManagerHost {
 public:
  explicit GateHost(net::Gate& gate, std::chrono::seconds timeout = std::chrono::seconds(15))
      : gate_(gate), timeout_(timeout) {}
  tls::AcmeChallengeStore& challenges() override { return *gate_.acme_challenges(); }
  util::Status reload(const std::string& scope) override {
    return gate_.reload_policy_and_wait(scope, timeout_);
  }

 private:
  net::Gate& gate_;
  std::chrono::seconds timeout_;
};

}  // namespace tlsgate::acme
