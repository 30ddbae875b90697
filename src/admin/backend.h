// Backend: what the admin API needs from the gate, as an interface so the
// API can be tested and fuzzed without one (tests/unit/admin, tests/fuzz).
//
// GateBackend (admin/gate_backend.h) forwards to net::Gate. Every method is
// called on the gate's control loop, and every `done` is called on it too.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "net/gate_status.h"

namespace tlsgate::admin {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual net::GateStatus status() const = 0;
  virtual void connections(std::string connector, size_t limit,
                           std::function<void(std::vector<net::ConnectionInfo>)> done) = 0;
  virtual void close_connection(uint64_t id, std::string who,
                                std::function<void(bool found)> done) = 0;
  virtual void reload(std::function<void(net::ReloadOutcome)> done) = 0;
  virtual void reload_policy(std::string scope, std::function<void(net::ReloadOutcome)> done) = 0;
};

}  // namespace tlsgate::admin
