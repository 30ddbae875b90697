// JSON views of what the gate reports (docs/ADMIN.md is the contract; a
// field changes here and there together).
//
// Pure functions of plain values (net/gate_status.h) and `now`.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "acme/manager.h"
#include "net/gate_status.h"
#include "pki/certificate_info.h"
#include "util/clock.h"

namespace tlsgate::admin {

// "2026-12-06T08:15:43Z"
std::string rfc3339(util::SystemTime t);
std::string side_name(tls::Side side);  // "server", "client"

nlohmann::json status_json(const net::GateStatus& s, util::SystemTime now);
nlohmann::json certificates_json(const net::GateStatus& s, util::SystemTime now);
nlohmann::json certificate_json(const pki::CertificateInfo& c, util::SystemTime now);
nlohmann::json connections_json(const std::vector<net::ConnectionInfo>& list);
nlohmann::json reload_json(const net::ReloadOutcome& outcome);
// GET /v1/acme: one object per ACME policy (docs/ADMIN.md).
nlohmann::json acme_json(const std::vector<acme::PolicyStatus>& policies, util::SystemTime now);
// {"error": ..., "fix": ...}
nlohmann::json error_json(const std::string& error, const std::string& fix);

}  // namespace tlsgate::admin
