// Manager::Job (manager.h): one ACME policy's state on the manager's
// thread, shared by manager.cc (scheduling) and manager_renew.cc (an order).
// Private to src/acme.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "acme/client.h"
#include "acme/manager.h"

namespace tlsgate::acme {

struct Manager::Job {
  config::Policy policy;
  std::vector<std::string> names;
  ChallengeResponder* responder = nullptr;
  std::optional<ExternalAccountBinding> eab;
  std::unique_ptr<Client> client;  // dropped after a failure: looked up again
  bool registered = false;         // client has its account
  util::SystemTime due{};
  bool planned = false;  // `due` is the renewal moment chosen for the current certificate
  int failures_in_row = 0;
  ClusterLink* cluster = nullptr;  // a cluster-wide policy: renewed by one node
  std::string cluster_state;       // what was logged last about whose turn it is
  PolicyStatus status;
  std::string key_prefix() const { return "ssl.policy." + policy.scope + "."; }
};

}  // namespace tlsgate::acme
