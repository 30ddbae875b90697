// A GateStatus made by hand, with one connector "pg" served by policy "pg"
// whose context is built from a freshly minted certificate, and a fake
// Backend over it (tests of the admin views, metrics and API).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "admin/backend.h"
#include "net/gate_status.h"
#include "support/test_pki.h"

namespace tlsgate::test {

struct SampleGate {
  TestCa ca;
  pki::Issued leaf;
  config::Policy policy;
  net::GateStatus status;
};

// Policy files under dir/certificates/pg; the leaf names "localhost" and 127.0.0.1.
SampleGate make_sample_gate(const std::filesystem::path& dir);

class FakeBackend final : public admin::Backend {
 public:
  explicit FakeBackend(net::GateStatus status) : status_(std::move(status)) {}
  net::GateStatus status() const override { return status_; }
  void connections(std::string connector, size_t limit,
                   std::function<void(std::vector<net::ConnectionInfo>)> done) override {
    asked_connector = connector;
    asked_limit = limit;
    done(conns);
  }
  void close_connection(uint64_t id, std::string who, std::function<void(bool)> done) override {
    closed_id = id;
    closed_by = who;
    done(id == 42);
  }
  void reload(std::function<void(net::ReloadOutcome)> done) override {
    ++reloads;
    done(outcome);
  }
  void reload_policy(std::string scope, std::function<void(net::ReloadOutcome)> done) override {
    reloaded_scope = scope;
    done(outcome);
  }

  net::GateStatus status_;
  std::vector<net::ConnectionInfo> conns;
  net::ReloadOutcome outcome;
  std::string asked_connector, closed_by, reloaded_scope;
  size_t asked_limit = 0;
  uint64_t closed_id = 0;
  int reloads = 0;
};

}  // namespace tlsgate::test
